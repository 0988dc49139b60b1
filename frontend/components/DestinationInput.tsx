'use client';
// The destination box. Without JavaScript it is a plain text input; with it,
// it suggests destinations from /listings/suggest as the visitor types
// (ARIA combobox: arrow keys move, Enter picks, Escape closes).
import { useEffect, useId, useRef, useState } from 'react';

interface Suggestion {
    city: string;
    country: string;
    listings: number;
}

export function DestinationInput({ defaultValue = '', error }: { defaultValue?: string; error?: string }) {
    const [value, setValue] = useState(defaultValue);
    const [items, setItems] = useState<Suggestion[]>([]);
    const [open, setOpen] = useState(false);
    const [active, setActive] = useState(-1);
    const listId = useId();
    const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

    useEffect(() => {
        clearTimeout(timer.current);
        const q = value.trim();
        if (q.length < 2) {
            setItems([]);
            return;
        }
        const controller = new AbortController();
        timer.current = setTimeout(async () => {
            try {
                const res = await fetch(`/suggest?q=${encodeURIComponent(q)}`, { signal: controller.signal });
                if (!res.ok) return;
                const body = (await res.json()) as { items: Suggestion[] };
                setItems(body.items);
                setActive(-1);
            } catch {
                // Suggestions are a nicety: typing still works.
            }
        }, 150);
        return () => {
            controller.abort();
            clearTimeout(timer.current);
        };
    }, [value]);

    const choose = (s: Suggestion) => {
        setValue(s.city);
        setOpen(false);
    };
    const showList = open && items.length > 0;

    return (
        <div className="field field-destination">
            <label htmlFor="destination">Where to?</label>
            <div className="destination-wrap">
                <input
                    id="destination"
                    name="city"
                    type="text"
                    placeholder="City, e.g. Lisbon"
                    autoComplete="off"
                    value={value}
                    role="combobox"
                    aria-expanded={showList}
                    aria-controls={listId}
                    aria-autocomplete="list"
                    aria-activedescendant={showList && active >= 0 ? `${listId}-${active}` : undefined}
                    aria-invalid={error ? true : undefined}
                    aria-describedby={error ? 'destination-error' : undefined}
                    onChange={(e) => {
                        setValue(e.target.value);
                        setOpen(true);
                    }}
                    onBlur={() => setTimeout(() => setOpen(false), 120)}
                    onKeyDown={(e) => {
                        if (!showList) return;
                        if (e.key === 'ArrowDown') {
                            e.preventDefault();
                            setActive((a) => (a + 1) % items.length);
                        } else if (e.key === 'ArrowUp') {
                            e.preventDefault();
                            setActive((a) => (a <= 0 ? items.length - 1 : a - 1));
                        } else if (e.key === 'Enter' && active >= 0) {
                            e.preventDefault();
                            choose(items[active]);
                        } else if (e.key === 'Escape') {
                            setOpen(false);
                        }
                    }}
                />
                <ul id={listId} role="listbox" className="suggestions" hidden={!showList} aria-label="Suggested destinations">
                    {items.map((s, i) => (
                        <li
                            key={`${s.city}|${s.country}`}
                            id={`${listId}-${i}`}
                            role="option"
                            aria-selected={i === active}
                            onMouseDown={(e) => {
                                e.preventDefault();
                                choose(s);
                            }}
                        >
                            <strong>{s.city}</strong>, {s.country}{' '}
                            <span className="muted">
                                ({s.listings} {s.listings === 1 ? 'place' : 'places'})
                            </span>
                        </li>
                    ))}
                </ul>
            </div>
            {error && (
                <p className="field-error" id="destination-error">
                    {error}
                </p>
            )}
        </div>
    );
}
