// Client checks of the card form; the payment service checks again and has the last word.

export interface CardInput {
    number: string;
    exp_month: string;
    exp_year: string;
    cvc: string;
}

/** Digits only: spaces and dashes people type are dropped. */
export function cardDigits(number: string): string {
    return number.replace(/[\s-]/g, '');
}

/** The Luhn checksum of a string of digits (false for anything else). */
export function luhnValid(digits: string): boolean {
    if (!/^\d{12,19}$/.test(digits)) return false;
    let sum = 0;
    let double = false;
    for (let i = digits.length - 1; i >= 0; i--) {
        let d = digits.charCodeAt(i) - 48;
        if (double) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
        double = !double;
    }
    return sum % 10 === 0;
}

/** "amex" for 34/37, "visa" for 4, "mastercard" for 51-55 and 2221-2720, else "unknown". */
export function cardBrand(digits: string): string {
    if (/^3[47]/.test(digits)) return 'amex';
    if (/^4/.test(digits)) return 'visa';
    const p4 = Number(digits.slice(0, 4));
    if (/^5[1-5]/.test(digits) || (p4 >= 2221 && p4 <= 2720)) return 'mastercard';
    return 'unknown';
}

/** Field errors keyed like the API's (card.number, card.exp_month, ...); empty when the card looks valid. A card
 *  expires at the end of its expiry month. `now` is injectable for tests. */
export function checkCard(card: CardInput, now: Date = new Date()): Record<string, string> {
    const errors: Record<string, string> = {};
    const digits = cardDigits(card.number);
    if (digits === '') errors['card.number'] = 'Enter the card number.';
    else if (!/^\d+$/.test(digits)) errors['card.number'] = 'Use digits only.';
    else if (!luhnValid(digits)) errors['card.number'] = 'This card number is not valid.';

    const month = Number(card.exp_month);
    let year = Number(card.exp_year);
    if (!/^\d{1,2}$/.test(card.exp_month.trim()) || month < 1 || month > 12) {
        errors['card.exp_month'] = 'Enter a month from 1 to 12.';
    }
    if (!/^\d{2}(\d{2})?$/.test(card.exp_year.trim())) {
        errors['card.exp_year'] = 'Enter the year, e.g. 2030.';
    } else {
        if (year < 100) year += 2000;
        const curY = now.getUTCFullYear();
        const curM = now.getUTCMonth() + 1;
        if (!errors['card.exp_month'] && (year < curY || (year === curY && month < curM))) {
            errors['card.exp_year'] = 'This card has expired.';
        } else if (year > curY + 20) {
            errors['card.exp_year'] = 'Check the expiry year.';
        }
    }

    const cvcLen = cardBrand(digits) === 'amex' ? 4 : 3;
    if (!new RegExp(`^\\d{${cvcLen}}$`).test(card.cvc.trim())) {
        errors['card.cvc'] = `Enter the ${cvcLen}-digit security code.`;
    }
    return errors;
}
