-- Search (GET /listings) and destination suggestions (GET /listings/suggest).
-- docs/search.md explains the design and shows the plan of the main query.

-- The words of a listing, folded (lower case, no accents), weighted for
-- ranking: A title, B city, C description. The 'simple' configuration keeps
-- every word as written (no stemming, no stop words): titles and city names
-- are proper names in many languages, where an English stemmer would only
-- mangle them ("paris" becomes "pari"), and prefix matching of the last word
-- (search_tsquery below) covers the plurals and endings a stemmer would.
ALTER TABLE listings ADD COLUMN search_doc tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple'::regconfig, fold(title)), 'A') ||
    setweight(to_tsvector('simple'::regconfig, fold(city)), 'B') ||
    setweight(to_tsvector('simple'::regconfig, fold(description)), 'C')) STORED;

-- The query of a search box as a tsquery: every word of fold(q) must match,
-- the last one as a prefix ("zur" finds "Zürich" while it is being typed).
-- The words are the ones to_tsvector finds, so the query splits text exactly
-- as the documents were split; each is quoted as a tsquery lexeme (quotes
-- doubled, backslashes escaped), so no input can be read as tsquery syntax.
-- NULL when q has no words at all (nothing can match). IMMUTABLE, so the
-- planner evaluates it once, with the request's value, before planning: the
-- GIN index then sees a constant and its selectivity is estimated from it.
CREATE FUNCTION search_tsquery(q text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    SET search_path FROM CURRENT
    AS $$
    SELECT string_agg(
               '''' || replace(replace(w.lexeme, '\', '\\'), '''', '''''') || ''''
                   || CASE WHEN w.pos = w.last_pos THEN ':*' ELSE '' END,
               ' & ')::tsquery
    FROM (SELECT t.lexeme,
                 (SELECT max(p) FROM unnest(t.positions) AS p) AS pos,
                 max((SELECT max(p) FROM unnest(t.positions) AS p)) OVER () AS last_pos
          FROM unnest(to_tsvector('simple'::regconfig, fold(q))) AS t) AS w
    $$;

-- Every index below covers active listings only: search never sees others.
CREATE INDEX listings_search_doc_idx ON listings USING gin (search_doc) WHERE status = 'active';
CREATE INDEX listings_city_idx ON listings (fold(city)) WHERE status = 'active';
CREATE INDEX listings_country_idx ON listings (fold(country)) WHERE status = 'active';
CREATE INDEX listings_amenities_idx ON listings USING gin (amenities) WHERE status = 'active';
CREATE INDEX listings_geo_idx ON listings USING gist (point(longitude, latitude)) WHERE status = 'active';
-- Substring matches of suggest (LIKE '%q%'), accent- and case-insensitive.
CREATE INDEX listings_city_trgm_idx ON listings USING gin (fold(city) gin_trgm_ops) WHERE status = 'active';
CREATE INDEX listings_country_trgm_idx ON listings USING gin (fold(country) gin_trgm_ops) WHERE status = 'active';
-- price_from without dates: a unit's cheapest open dates below its base price.
CREATE INDEX calendar_days_unit_price_idx ON calendar_days (unit_id, price);
-- A listing's units with what search reads of them, for index-only scans.
CREATE INDEX units_search_idx ON units (listing_id) INCLUDE (id, max_guests, quantity, base_price);
