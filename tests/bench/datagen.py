#!/usr/bin/python3
"""The search benchmark's data set: N listings (10,000 by default) over the
56 cities of deploy/dev/seed-data/cities.json, with 1 to 4 units each and a
sparse calendar, written straight into the inventory schema with one SQL
script (generate_series; about ten seconds for 10,000 listings).

The schema must exist: start roam-inventory once against the database (the
benchmark does, through the test harness). Everything is derived from md5
of a seed and a row's number, so the same seed gives the same rows whatever
plan PostgreSQL picks. Dates are relative to the server's current_date.

What it makes, per listing (i = 1..N, city = i mod 56):
  type         45% hotel, 25% apartment, 15% tour, 15% activity; 2% archived
  units        hotels 2-4 room types, apartments 1, tours and activities 1-3
               ticket types; quantity 1-12 rooms / 1 apartment / 5-30 tickets
               (3% of units have quantity 0, sellable only where a row says so);
               base price by type, converted into the city's currency
  calendar     70% of units: Friday and Saturday at +25% for 26 weeks;
               every unit: 3 closed dates in the next 120 days and 4 dates in
               the next 60 days with one unit held (where one exists)
  other        0-17 amenities, 1-3 photos, cancellation policy, rating on 75%

Usage: tests/bench/datagen.py DATABASE_URL [N] [SEED]
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED_DATA = ROOT / "deploy" / "dev" / "seed-data"


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def cities() -> list[dict]:
    return json.loads((SEED_DATA / "cities.json").read_text())


def currencies() -> dict:
    return {k: v for k, v in json.loads((SEED_DATA / "currencies.json").read_text()).items() if not k.startswith("_")}


def sql(n: int = 10000, seed: str = "roam-bench") -> str:
    """The SQL script that inserts the data set (run with search_path = inventory)."""
    cur = currencies()
    rows = []
    for i, c in enumerate(cities()):
        k = cur[c["currency"]]
        # Minor units of the city's currency per euro cent.
        scale = k["per_eur"] * 10 ** k["decimals"] / 100
        rows.append(f"({i}, {_lit(c['city'])}, {_lit(c['country'])}, {c['lat']}, {c['lon']}, {_lit(c['tz'])}, "
                    f"{_lit(c['currency'])}, {scale})")
    ncities = len(rows)
    return f"""
\\set ON_ERROR_STOP 1
SET search_path = inventory;
SET max_parallel_workers_per_gather = 0;
-- The rows are consistent by construction: skip the foreign-key triggers (a third of the time).
SET session_replication_role = replica;
BEGIN;
CREATE TEMP TABLE gen_city (idx int PRIMARY KEY, city text, country text, lat float8, lon float8, tz text,
                            currency text, scale float8);
INSERT INTO gen_city VALUES {", ".join(rows)};

-- A number in [0, 1) from md5 of the seed and a key: the same whatever the plan.
CREATE FUNCTION pg_temp.rnd(k text) RETURNS float8 LANGUAGE sql IMMUTABLE AS
  $$ SELECT ('x' || substr(md5({_lit(seed)} || ':' || k), 1, 8))::bit(32)::bigint / 4294967296.0 $$;
-- A price rounded to two significant digits (12,345 -> 12,000).
CREATE FUNCTION pg_temp.nice(v float8) RETURNS bigint LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE WHEN v < 100 THEN greatest(round(v), 1)::bigint
                 ELSE (round(v / 10 ^ (floor(log(v)) - 1)) * 10 ^ (floor(log(v)) - 1))::bigint END $$;
-- A uuid from md5 of the seed and a key.
CREATE FUNCTION pg_temp.uid(k text) RETURNS uuid LANGUAGE sql IMMUTABLE AS
  $$ SELECT md5({_lit(seed)} || ':' || k)::uuid $$;

CREATE TEMP TABLE gen_listing AS
SELECT i, c.*,
       CASE WHEN pg_temp.rnd('type' || i) < 0.45 THEN 'hotel'
            WHEN pg_temp.rnd('type' || i) < 0.70 THEN 'apartment'
            WHEN pg_temp.rnd('type' || i) < 0.85 THEN 'tour' ELSE 'activity' END AS type
FROM generate_series(1, {n}) AS i JOIN gen_city c ON c.idx = i % {ncities};

INSERT INTO listings (id, operator_id, type, title, description, city, country, address, latitude, longitude,
                      timezone, amenities, photos, currency, free_cancellation_hours, refund_percent_after,
                      status, rating_count, rating_sum, rating_version, created_at, updated_at)
SELECT pg_temp.uid('listing' || g.i), pg_temp.uid('operator' || (g.i % 200)), g.type,
       CASE g.type
         WHEN 'hotel' THEN (ARRAY['Grand','Royal','Little','Old Town','Riverside','Central','Garden','Harbour',
                                  'Boutique','Park','Sunset','Golden'])[1 + floor(pg_temp.rnd('t1' || g.i) * 12)]
                           || ' ' || (ARRAY['Hotel','Inn','Suites','Residence','Palace','Lodge','House'])
                                     [1 + floor(pg_temp.rnd('t2' || g.i) * 7)] || ' ' || g.city
         WHEN 'apartment' THEN (ARRAY['Bright','Cosy','Spacious','Modern','Quiet','Sunny','Charming','Stylish'])
                                   [1 + floor(pg_temp.rnd('t1' || g.i) * 8)]
                           || ' ' || (ARRAY['loft','studio','apartment','flat','penthouse','maisonette'])
                                     [1 + floor(pg_temp.rnd('t2' || g.i) * 6)] || ' in ' || g.city
         WHEN 'tour' THEN g.city || ' ' || (ARRAY['walking tour','food tour','bike tour','night tour','boat tour',
                                                  'history tour'])[1 + floor(pg_temp.rnd('t1' || g.i) * 6)]
         ELSE (ARRAY['Cooking class','Museum pass','Wine tasting','Kayak trip','Photography workshop','Spa day'])
                  [1 + floor(pg_temp.rnd('t1' || g.i) * 6)] || ' in ' || g.city
       END,
       'A ' || g.type || ' in ' || g.city || ', ' || g.country || '. '
         || (ARRAY['Close to the old town and the main sights.', 'Quiet street, five minutes from the metro.',
                   'Views over the river and the rooftops.', 'Friendly staff and a generous breakfast.',
                   'Family-run since 1950, recently renovated.', 'Ideal for a weekend with friends.'])
            [1 + floor(pg_temp.rnd('d' || g.i) * 6)],
       g.city, g.country,
       (1 + floor(pg_temp.rnd('a' || g.i) * 120))::int || ' Main Street',
       g.lat + (pg_temp.rnd('lat' || g.i) - 0.5) * 0.12, g.lon + (pg_temp.rnd('lon' || g.i) - 0.5) * 0.12,
       g.tz,
       ARRAY(SELECT a FROM unnest(ARRAY['wifi','breakfast','parking','pool','gym','spa','air_conditioning',
                                        'kitchen','pet_friendly','airport_shuttle','bar','restaurant',
                                        'family_rooms','accessible','guide','tickets_included','hotel_pickup']) a
             WHERE pg_temp.rnd('am' || g.i || a) < CASE a WHEN 'wifi' THEN 0.85 ELSE 0.3 END),
       ARRAY(SELECT '/demo/photos/' || g.type || '-' || (1 + floor(pg_temp.rnd('ph' || g.i || ':' || k) * 12))::int
                    || '.svg'
             FROM generate_series(1, 1 + floor(pg_temp.rnd('nph' || g.i) * 3)::int) k),
       g.currency,
       (ARRAY[0, 24, 48, 72])[1 + floor(pg_temp.rnd('fc' || g.i) * 4)],
       (ARRAY[0, 50, 100])[1 + floor(pg_temp.rnd('rp' || g.i) * 3)],
       CASE WHEN pg_temp.rnd('arch' || g.i) < 0.02 THEN 'archived' ELSE 'active' END,
       r.cnt, CASE WHEN r.cnt = 0 THEN 0 ELSE least(r.cnt * 5, round(r.cnt * (2.8 + pg_temp.rnd('rs' || g.i) * 2.2)))::bigint END,
       CASE WHEN r.cnt = 0 THEN 0 ELSE 1 END,
       now() - pg_temp.rnd('ct' || g.i) * interval '400 days', now()
FROM gen_listing g
CROSS JOIN LATERAL (SELECT CASE WHEN pg_temp.rnd('rated' || g.i) < 0.75
                                THEN 1 + floor(pg_temp.rnd('rc' || g.i) * 400)::int ELSE 0 END AS cnt) r;

CREATE TEMP TABLE gen_unit AS
SELECT g.i, k, g.type, g.scale, pg_temp.uid('unit' || g.i || ':' || k) AS id
FROM gen_listing g CROSS JOIN generate_series(1, 4) k
WHERE k <= CASE g.type WHEN 'hotel' THEN 2 + floor(pg_temp.rnd('nu' || g.i) * 3)::int
                       WHEN 'apartment' THEN 1 ELSE 1 + floor(pg_temp.rnd('nu' || g.i) * 3)::int END;
ALTER TABLE gen_unit
  ADD COLUMN quantity int, ADD COLUMN base_price bigint, ADD COLUMN weekend_price bigint, ADD COLUMN weekends bool;
UPDATE gen_unit u SET
  quantity = CASE WHEN pg_temp.rnd('q0' || u.id) < 0.03 THEN 0
                  WHEN u.type = 'hotel' THEN 1 + floor(pg_temp.rnd('q' || u.id) * 12)::int
                  WHEN u.type = 'apartment' THEN 1
                  ELSE 5 + floor(pg_temp.rnd('q' || u.id) * 26)::int END,
  base_price = pg_temp.nice(u.scale * 100 * CASE u.type
                  WHEN 'hotel' THEN (60 + pg_temp.rnd('bp' || u.id) * 140) * (ARRAY[0.8, 1.0, 1.5, 2.2])[u.k]
                  WHEN 'apartment' THEN 60 + pg_temp.rnd('bp' || u.id) * 190
                  ELSE (15 + pg_temp.rnd('bp' || u.id) * 75) * (ARRAY[1.0, 0.6, 2.5])[u.k] END),
  weekends = pg_temp.rnd('wk' || u.id) < 0.7;
UPDATE gen_unit SET weekend_price = pg_temp.nice(base_price * 1.25);

INSERT INTO units (id, listing_id, name, description, max_guests, quantity, base_price, created_at)
SELECT u.id, pg_temp.uid('listing' || u.i),
       CASE WHEN u.type = 'hotel' THEN (ARRAY['Single room','Double room','Family room','Suite'])[u.k]
            WHEN u.type = 'apartment' THEN 'Whole apartment'
            ELSE (ARRAY['Adult ticket','Child ticket','Family ticket'])[u.k] END,
       '',
       CASE WHEN u.type = 'hotel' THEN (ARRAY[1, 2, 4, 3])[u.k]
            WHEN u.type = 'apartment' THEN 2 + floor(pg_temp.rnd('mg' || u.id) * 5)::int
            ELSE (ARRAY[1, 1, 4])[u.k] END,
       u.quantity, u.base_price, now() + u.k * interval '1 second'
FROM gen_unit u;

-- Weekends (+25%), closed dates and held units; one row per unit and date.
SET LOCAL work_mem = '512MB';
INSERT INTO calendar_days (unit_id, day, quantity, price, closed, held, booked)
SELECT u.id, x.day, u.quantity, CASE WHEN x.weekend THEN u.weekend_price ELSE u.base_price END,
       x.closed, least(x.held, u.quantity), 0
FROM (
  SELECT unit, day, bool_or(weekend) AS weekend, bool_or(closed) AS closed, max(held) AS held
  FROM (
    SELECT u.id AS unit, f.day::date AS day, true AS weekend, false AS closed, 0 AS held
    FROM gen_unit u
    CROSS JOIN generate_series(current_date + (5 - extract(isodow FROM current_date)::int + 7) % 7,
                               current_date + 182, interval '7 days') AS fri(d)
    CROSS JOIN LATERAL (VALUES (fri.d), (fri.d + interval '1 day')) AS f(day)
    WHERE u.weekends
    UNION ALL
    SELECT u.id, current_date + floor(pg_temp.rnd('cl' || u.id || ':' || s.k) * 120)::int, false, true, 0
    FROM gen_unit u CROSS JOIN generate_series(1, 3) AS s(k)
    UNION ALL
    SELECT u.id, current_date + floor(pg_temp.rnd('ho' || u.id || ':' || s.k) * 60)::int, false, false, 1
    FROM gen_unit u CROSS JOIN generate_series(1, 4) AS s(k)
  ) r
  GROUP BY unit, day
) x
JOIN gen_unit u ON u.id = x.unit;
COMMIT;
VACUUM (ANALYZE) listings;
VACUUM (ANALYZE) units;
VACUUM (ANALYZE) calendar_days;
"""


def load(database_url: str, n: int = 10000, seed: str = "roam-bench", psql: str | None = None) -> None:
    """Runs the script with psql against database_url (PostgreSQL's psql unless given)."""
    if psql is None:
        sys.path.insert(0, str(ROOT / "tests" / "harness"))
        from roamtest import pg_bindir
        psql = str(pg_bindir() / "psql")
    subprocess.run([psql, "-X", "-q", "-d", database_url], input=sql(n, seed), text=True, check=True,
                   stdout=subprocess.DEVNULL, env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    load(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10000,
         sys.argv[3] if len(sys.argv) > 3 else "roam-bench")
