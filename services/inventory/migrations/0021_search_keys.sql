-- City and country folded once, when a listing is written, instead of on
-- every row a search reads: unaccent() costs microseconds per call, and a
-- suggestion of one letter (or any scan of many listings) called it twice
-- per listing. The city and country filters and suggest use these columns;
-- the indexes of 0020 on the expressions are replaced by indexes on them.
ALTER TABLE listings
    ADD COLUMN city_key text GENERATED ALWAYS AS (fold(city)) STORED,
    ADD COLUMN country_key text GENERATED ALWAYS AS (fold(country)) STORED;

DROP INDEX listings_city_idx;
DROP INDEX listings_country_idx;
DROP INDEX listings_city_trgm_idx;
DROP INDEX listings_country_trgm_idx;
CREATE INDEX listings_city_idx ON listings (city_key) WHERE status = 'active';
CREATE INDEX listings_country_idx ON listings (country_key) WHERE status = 'active';
CREATE INDEX listings_city_trgm_idx ON listings USING gin (city_key gin_trgm_ops) WHERE status = 'active';
CREATE INDEX listings_country_trgm_idx ON listings USING gin (country_key gin_trgm_ops) WHERE status = 'active';
