// Check files: YAML (or JSON, which YAML reads as well) parsed into typed checks. Every problem is
// reported at once, each naming the file, the check and the field, and saying how to fix it;
// unknown keys are problems too, so a typo cannot quietly switch an expectation off.
import * as fs from "node:fs";
import { parseDocument } from "yaml";
import { JsonPath, parseJsonPath } from "./jsonPath";

/** A whole check file, with defaults applied. */
export interface CheckSpec {
    readonly checks: readonly Check[];
    /** How long failing checks are retried, in seconds from the start of the run. */
    readonly deadlineSeconds: number;
    /** At most this many requests in flight at once. */
    readonly concurrency: number;
    /** How long one request may take, in seconds, before it counts as a timeout. */
    readonly requestTimeoutSeconds: number;
}

/** One HTTP request and what its answer must be; it runs once per target. */
export interface Check {
    /** Unique within the file; names the check in every report. */
    readonly name: string;
    readonly method: Method;
    /** Path (and query) appended to each target's base URL; starts with "/". */
    readonly path: string;
    /** Request headers; a JSON body adds content-type: application/json unless one is given. */
    readonly headers: Readonly<Record<string, string>>;
    /** Request body as sent: a string as written, or an object or array as JSON. */
    readonly body?: string;
    readonly expect: Expectation;
}

export const methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type Method = (typeof methods)[number];

/** What the answer must be; all of it must hold. */
export interface Expectation {
    readonly status: number;
    /** Texts the body must contain, each of them. */
    readonly bodyContains: readonly string[];
    /** Assertions on the body parsed as JSON. */
    readonly json: readonly JsonAssertion[];
    /** Bound on the time from sending the request to the end of the answer's body. */
    readonly maxLatencyMs?: number;
}

/** The value at `path` equals `equals` (deep, JSON equality), or exists or not (`exists`). */
export type JsonAssertion =
    | { readonly path: string; readonly at: JsonPath; readonly equals: unknown }
    | { readonly path: string; readonly at: JsonPath; readonly exists: boolean };

/** The defaults of a file's top-level settings. */
export const specDefaults = { deadlineSeconds: 60, concurrency: 8, requestTimeoutSeconds: 10 } as const;

/** A check file that cannot be used; `problems` has one line per problem. */
export class SpecError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(problems.join("\n"));
        this.name = "SpecError";
    }
}

/** Values for `{{NAME}}` placeholders in a file's strings. */
export type SpecVariables = Readonly<Record<string, string>>;

/** A variable's name: what may stand between `{{` and `}}`. */
export const variableName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const placeholder = /\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g;

const topKeys = ["checks", "deadlineSeconds", "concurrency", "requestTimeoutSeconds"];
const checkKeys = ["name", "method", "path", "headers", "body", "expect"];
const expectKeys = ["status", "bodyContains", "json", "maxLatencyMs"];
const jsonKeys = ["path", "equals", "exists"];
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers Node's fetch sets itself and refuses from a caller (the request would fail every time). */
const clientHeaders = ["content-length", "transfer-encoding", "expect", "upgrade", "keep-alive"];

/** Reads and parses the check file at `file`; throws SpecError. */
export function loadSpec(file: string, variables: SpecVariables = {}): CheckSpec {
    let text: string;
    try {
        text = readSpecText(file);
    } catch (error) {
        throw new SpecError([`${file}: cannot read the check file: ${(error as Error).message}`]);
    }
    return parseSpec(text, file, variables);
}

/** The largest check file read: far more than any list of checks, and it travels on the master's stdin. */
export const maxSpecBytes = 1024 * 1024;

/**
 * A check file's text, read up to {@link maxSpecBytes} (a device such as /dev/zero never ends; a
 * pipe has no size to ask first). Throws the read's error, or one saying the file is too large.
 */
export function readSpecText(file: string): string {
    const fd = fs.openSync(file, "r");
    try {
        const buffer = Buffer.alloc(maxSpecBytes + 1);
        let length = 0;
        for (let read = -1; read !== 0 && length <= maxSpecBytes;) {
            read = fs.readSync(fd, buffer, length, buffer.length - length, null);
            length += read;
        }
        if (length > maxSpecBytes) throw new Error(`it is larger than ${maxSpecBytes / 1024 / 1024} MiB: is it the check file?`);
        return buffer.subarray(0, length).toString("utf8");
    } finally {
        fs.closeSync(fd);
    }
}

/**
 * Parses and validates a check file's text; `source` names it in problems. `{{NAME}}` in any
 * string value is replaced by `variables[NAME]`; a placeholder with no value is a problem.
 * Throws SpecError with every problem found.
 */
export function parseSpec(text: string, source: string, variables: SpecVariables = {}): CheckSpec {
    const document = parseDocument(text);
    if (document.errors.length > 0) {
        // The first line of yaml's message says what and where ("... at line 3, column 5:").
        throw new SpecError([`${source}: not valid YAML or JSON: ${document.errors[0].message.split("\n")[0].replace(/:$/, "")}`]);
    }
    let raw: unknown;
    try {
        raw = document.toJS();
    } catch (error) {
        // yaml refuses to expand aliases past a limit (a "billion laughs" file).
        throw new SpecError([`${source}: not usable YAML: ${(error as Error).message}`]);
    }
    const problems: string[] = [];
    const spec = readSpec(raw, new Reader(source, variables, problems));
    if (problems.length > 0) throw new SpecError(problems);
    return spec;
}

/** Collects problems under one prefix ("FILE: checks[1] ("home"): ") and substitutes variables. */
class Reader {
    constructor(
        private readonly prefix: string,
        private readonly variables: SpecVariables,
        private readonly problems: string[],
    ) {}

    /** A reader for one part of the file, e.g. a check. */
    within(part: string): Reader {
        return new Reader(`${this.prefix}: ${part}`, this.variables, this.problems);
    }

    problem(field: string, message: string): void {
        this.problems.push(`${this.prefix}: ${field ? `${field} ` : ""}${message}`);
    }

    /** Reports every key of `mapping` not in `allowed`, suggesting the nearest allowed one. */
    onlyKeys(mapping: Record<string, unknown>, allowed: readonly string[], where: string): void {
        for (const key of Object.keys(mapping).filter((key) => !allowed.includes(key))) {
            const near = allowed.find((candidate) => editDistance(key.toLowerCase(), candidate.toLowerCase()) <= 2);
            const hint = near ? `did you mean "${near}"?` : `remove it`;
            this.problem(where, `has an unknown key "${key}": ${hint} (allowed: ${allowed.join(", ")})`);
        }
    }

    /** `value` with its placeholders replaced; strings inside arrays and objects too. */
    substitute(value: unknown, field: string): unknown {
        if (typeof value === "string") {
            return value.replace(placeholder, (whole, name: string) => {
                if (Object.hasOwn(this.variables, name)) return this.variables[name];
                this.problem(field, `uses ${whole}, which has no value: pass --var ${name}=VALUE (or remove the placeholder)`);
                return whole;
            });
        }
        if (Array.isArray(value)) return value.map((item) => this.substitute(item, field));
        if (isMapping(value)) {
            return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.substitute(item, field)]));
        }
        return value;
    }

    /** `mapping[key]` if it is a number within `rule`; undefined (and a problem) otherwise. */
    number(mapping: Record<string, unknown>, key: string, rule: NumberRule, field = key): number | undefined {
        const value = mapping[key];
        if (value === undefined) return undefined;
        const valid = typeof value === "number" && Number.isFinite(value) && (rule.above !== undefined ? value > rule.above : value >= (rule.min ?? 0))
            && (rule.max === undefined || value <= rule.max) && (!rule.integer || Number.isInteger(value));
        if (valid) return value;
        const lower = rule.above !== undefined ? `above ${rule.above}` : rule.max !== undefined ? `from ${rule.min ?? 0}` : `of at least ${rule.min}`;
        const range = rule.max === undefined ? lower : `${lower}${rule.above !== undefined ? " and at most" : " to"} ${rule.max}${rule.why ? ` (${rule.why})` : ""}`;
        this.problem(field, `must be ${rule.integer ? "an integer" : "a number"} ${range}, got ${describe(value)}${typeof value === "string" ? "; write it without quotes" : ""}`);
        return undefined;
    }
}

/** Bounds of a number: at least `min` (or more than `above`), at most `max` (`why` that bound). */
interface NumberRule {
    readonly min?: number;
    readonly above?: number;
    readonly max?: number;
    readonly why?: string;
    readonly integer?: boolean;
}

/** The longest request timeout: Node's timers hold at most 2^31-1 ms; longer ones fire at once. */
export const maxTimerSeconds = Math.floor((2 ** 31 - 1) / 1000);

function readSpec(raw: unknown, reader: Reader): CheckSpec {
    const empty = { checks: [], ...specDefaults };
    if (!isMapping(raw)) {
        reader.problem("", `must be a mapping with a "checks" list, got ${describe(raw)}`);
        return empty;
    }
    reader.onlyKeys(raw, topKeys, "the top level");
    const deadlineSeconds = reader.number(raw, "deadlineSeconds", { min: 0 }) ?? specDefaults.deadlineSeconds;
    const concurrency = reader.number(raw, "concurrency", { min: 1, integer: true }) ?? specDefaults.concurrency;
    const requestTimeoutSeconds = reader.number(raw, "requestTimeoutSeconds", { above: 0, max: maxTimerSeconds, why: "what a Node.js timer can hold, 24.8 days" })
        ?? specDefaults.requestTimeoutSeconds;
    if (!Array.isArray(raw.checks) || raw.checks.length === 0) {
        reader.problem("checks", `must be a non-empty list of checks (each with name, path and expect), got ${describe(raw.checks)}`);
        return { ...empty, deadlineSeconds, concurrency, requestTimeoutSeconds };
    }
    const checks = raw.checks.map((item: unknown, index: number) => {
        const name = isMapping(item) && typeof item.name === "string" ? ` (${JSON.stringify(item.name)})` : "";
        return readCheck(item, reader.within(`checks[${index}]${name}`));
    });
    const seen = new Set<string>();
    checks.forEach((check, index) => {
        if (check.name !== "" && seen.has(check.name)) {
            reader.within(`checks[${index}] (${JSON.stringify(check.name)})`).problem("name", "is used by an earlier check: give each check its own name");
        }
        seen.add(check.name);
    });
    return { checks, deadlineSeconds, concurrency, requestTimeoutSeconds };
}

function readCheck(raw: unknown, reader: Reader): Check {
    if (!isMapping(raw)) {
        reader.problem("", `must be a mapping with name, path and expect, got ${describe(raw)}`);
        return { name: "", method: "GET", path: "/", headers: {}, expect: { status: 200, bodyContains: [], json: [] } };
    }
    reader.onlyKeys(raw, checkKeys, "the check");
    const name = reader.substitute(raw.name, "name");
    if (typeof name !== "string" || name.trim() === "" || /[\r\n]/.test(name)) {
        reader.problem("name", `must be a non-empty one-line string, got ${describe(name)}`);
    }
    const method = readMethod(raw.method, reader);
    const path = reader.substitute(raw.path, "path");
    if (typeof path !== "string" || !path.startsWith("/") || /[\s#]/.test(path)) {
        reader.problem("path", `must be a string starting with "/" with no spaces or "#", e.g. "/health", got ${describe(path)}`);
    }
    const headers = readHeaders(raw.headers, reader);
    const body = readBody(raw, method, headers, reader);
    return {
        name: typeof name === "string" ? name : "",
        method,
        path: typeof path === "string" ? path : "/",
        headers,
        ...(body === undefined ? {} : { body }),
        expect: readExpectation(raw.expect, reader),
    };
}

function readMethod(raw: unknown, reader: Reader): Method {
    if (raw === undefined) return "GET";
    const method = typeof raw === "string" ? raw.toUpperCase() : "";
    if ((methods as readonly string[]).includes(method)) return method as Method;
    reader.problem("method", `must be one of ${methods.join(", ")}, got ${describe(raw)}`);
    return "GET";
}

function readHeaders(raw: unknown, reader: Reader): Record<string, string> {
    if (raw === undefined) return {};
    if (!isMapping(raw)) {
        reader.problem("headers", `must be a mapping of header names to strings, e.g. {Accept: application/json}, got ${describe(raw)}`);
        return {};
    }
    const headers: Record<string, string> = {};
    const seen = new Set<string>();
    for (const [name, rawValue] of Object.entries(raw)) {
        const value = reader.substitute(rawValue, `headers.${name}`);
        if (!headerName.test(name)) reader.problem(`headers.${name}`, "is not a valid header name (letters, digits and -)");
        if (seen.has(name.toLowerCase())) reader.problem(`headers.${name}`, "repeats a header name given before (names are case-insensitive)");
        seen.add(name.toLowerCase());
        if (clientHeaders.includes(name.toLowerCase())) {
            reader.problem(`headers.${name}`, "is the HTTP client's own (it frames the request from the body and manages the connection): remove it");
        }
        if (typeof value !== "string" || /[\r\n\0]/.test(value)) {
            reader.problem(`headers.${name}`, `must be a one-line string, got ${describe(value)}${typeof value === "number" ? "; quote it" : ""}`);
            continue;
        }
        if (/[^\t\x20-\x7e]/.test(value)) {
            reader.problem(`headers.${name}`, `must be printable ASCII: a header cannot carry other characters (percent-encode them), got ${describe(value)}`);
            continue;
        }
        headers[name] = value;
    }
    return headers;
}

/** The body as sent; a JSON body also gets its content type into `headers`. */
function readBody(raw: Record<string, unknown>, method: Method, headers: Record<string, string>, reader: Reader): string | undefined {
    if (raw.body === undefined) return undefined;
    if (method === "GET" || method === "HEAD") {
        reader.problem("body", `cannot be sent with ${method}: set method to POST, PUT or PATCH, or remove the body`);
        return undefined;
    }
    const body = reader.substitute(raw.body, "body");
    if (typeof body === "string") return body;
    if (isMapping(body) || Array.isArray(body)) {
        if (!Object.keys(headers).some((name) => name.toLowerCase() === "content-type")) headers["content-type"] = "application/json";
        return JSON.stringify(body);
    }
    reader.problem("body", `must be a string (sent as is) or a mapping or list (sent as JSON), got ${describe(body)}; quote it to send it as text`);
    return undefined;
}

function readExpectation(raw: unknown, reader: Reader): Expectation {
    if (raw === undefined) return { status: 200, bodyContains: [], json: [] };
    if (!isMapping(raw)) {
        reader.problem("expect", `must be a mapping (status, bodyContains, json, maxLatencyMs), got ${describe(raw)}`);
        return { status: 200, bodyContains: [], json: [] };
    }
    reader.onlyKeys(raw, expectKeys, "expect");
    const status = reader.number(raw, "status", { min: 100, max: 599, integer: true }, "expect.status") ?? 200;
    const maxLatencyMs = reader.number(raw, "maxLatencyMs", { above: 0 }, "expect.maxLatencyMs");
    return {
        status,
        bodyContains: readBodyContains(raw.bodyContains, reader),
        json: readJsonAssertions(raw.json, reader),
        ...(maxLatencyMs === undefined ? {} : { maxLatencyMs }),
    };
}

function readBodyContains(raw: unknown, reader: Reader): string[] {
    if (raw === undefined) return [];
    const value = reader.substitute(raw, "expect.bodyContains");
    const texts = typeof value === "string" ? [value] : value;
    if (Array.isArray(texts) && texts.length > 0 && texts.every((text) => typeof text === "string" && text !== "")) return texts;
    reader.problem("expect.bodyContains", `must be a non-empty string or a non-empty list of them, got ${describe(value)}; quote numbers`);
    return [];
}

function readJsonAssertions(raw: unknown, reader: Reader): JsonAssertion[] {
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) {
        reader.problem("expect.json", `must be a list of {path, equals} or {path, exists}, got ${describe(raw)}`);
        return [];
    }
    return raw.flatMap((item: unknown, index: number): JsonAssertion[] => {
        const field = `expect.json[${index}]`;
        if (!isMapping(item)) {
            reader.problem(field, `must be a mapping {path: "$.key", equals: VALUE} or {path: "$.key", exists: true}, got ${describe(item)}`);
            return [];
        }
        reader.onlyKeys(item, jsonKeys, field);
        let at: JsonPath = [];
        if (typeof item.path !== "string") {
            reader.problem(`${field}.path`, `must be a string such as "$.status", got ${describe(item.path)}`);
        } else {
            try {
                at = parseJsonPath(item.path);
            } catch (error) {
                reader.problem(`${field}.path`, `${JSON.stringify(item.path)} ${(error as Error).message}`);
            }
        }
        const path = String(item.path);
        const hasEquals = Object.hasOwn(item, "equals");
        if (hasEquals === Object.hasOwn(item, "exists")) {
            reader.problem(field, "must have exactly one of equals (any JSON value) and exists (true or false)");
            return [];
        }
        if (hasEquals) return [{ path, at, equals: reader.substitute(item.equals, `${field}.equals`) }];
        if (typeof item.exists !== "boolean") {
            reader.problem(`${field}.exists`, `must be true or false, got ${describe(item.exists)}`);
            return [];
        }
        return [{ path, at, exists: item.exists }];
    });
}

function isMapping(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as a problem shows it: short JSON and its kind. */
function describe(value: unknown): string {
    if (value === undefined) return "nothing";
    if (value === null) return "null";
    const kind = Array.isArray(value) ? "a list" : isMapping(value) ? "a mapping" : `a ${typeof value}`;
    const text = JSON.stringify(value);
    return `${text.length > 40 ? `${text.slice(0, 37)}...` : text} (${kind})`;
}

/** Levenshtein distance, for "did you mean" on unknown keys. */
function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        previous = current;
    }
    return previous[b.length];
}
