/** A booking's status in words, as travellers and operators see it. */
export const BOOKING_STATUS_TEXT: Record<string, string> = {
    pending_payment: 'Awaiting payment',
    payment_failed: 'Payment failed',
    confirmed: 'Confirmed',
    expired: 'Expired',
    cancelled: 'Cancelled',
    completed: 'Completed',
};

/** The words for status, or the status itself if it is one this app does not know yet. */
export function bookingStatusText(status: string): string {
    return BOOKING_STATUS_TEXT[status] ?? status;
}
