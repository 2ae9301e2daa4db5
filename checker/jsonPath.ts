// The one JSON-path syntax check files use: `$` is the whole document, `.key` a member of an
// object, `[N]` an element of an array, e.g. `$.items[0].name`. Keys may hold any character but
// `.`, `[` and `]`; nothing else of JSONPath (wildcards, filters, quoted keys) is supported.

/** A parsed path: member names and array indexes, from the document's root. */
export type JsonPath = readonly (string | number)[];

const segmentPattern = /\.([^.[\]]+)|\[(\d+)\]/y;

/** Parses `text` (e.g. `$.a.b[0]`); throws an Error saying what is wrong with it. */
export function parseJsonPath(text: string): JsonPath {
    if (!text.startsWith("$")) throw new Error(`must start with "$" (the whole document), e.g. "$.status"`);
    const segments: (string | number)[] = [];
    segmentPattern.lastIndex = 1;
    while (segmentPattern.lastIndex < text.length) {
        const at = segmentPattern.lastIndex;
        const match = segmentPattern.exec(text);
        if (!match) {
            throw new Error(`has an unexpected ${JSON.stringify(text.slice(at))}: write ".key" for a member and "[N]" for an array element, e.g. "$.items[0].name"`);
        }
        segments.push(match[1] ?? Number(match[2]));
    }
    return segments;
}

/** The value at `path` in `document`, or `found: false` when a member or element is missing. */
export function lookupJsonPath(document: unknown, path: JsonPath): { found: true; value: unknown } | { found: false } {
    let value = document;
    for (const segment of path) {
        if (typeof segment === "number") {
            if (!Array.isArray(value) || segment >= value.length) return { found: false };
            value = value[segment];
        } else {
            if (typeof value !== "object" || value === null || Array.isArray(value) || !Object.hasOwn(value, segment)) return { found: false };
            value = (value as Record<string, unknown>)[segment];
        }
    }
    return { found: true, value };
}
