"""What the booking, payment and saga tests share: dates in a listing's time
zone, the sandbox's card, and calls through the gateway as a user."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from roamtest import http

API = "/api/v1"
PASSWORD = "correct horse battery"
VISA_OK = "4242424242424242"


def today_in(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def day(n: int, tz: str = "Europe/Paris") -> str:
    """Today + n days in the time zone tz, as YYYY-MM-DD."""
    return (today_in(tz) + timedelta(days=n)).isoformat()


def card(number=VISA_OK, exp_month=12, exp_year=None, cvc="123"):
    return {"number": number, "exp_month": exp_month, "exp_year": exp_year or datetime.now().year + 3, "cvc": cvc}


class GatewayApi:
    """Mixed into a StackTestCase whose class has gw, the gateway daemon."""

    def api(self, method, path, body=None, user=None, key=None, base=None, **kw):
        """Calls path (under /api/v1 on the gateway, or under base) as user, with an Idempotency-Key if given."""
        headers = dict(kw.pop("headers", None) or {})
        if user is not None:
            headers["Authorization"] = f"Bearer {user['token']}"
        if key is not None:
            headers["Idempotency-Key"] = key
        url = (base + path) if base else (self.gw.url + API + path)
        return http(method, url, body, headers=headers, **kw)
