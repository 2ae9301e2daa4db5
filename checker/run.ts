// Runs every check against every target with Node's fetch, retrying each pair until it passes or
// the deadline passes: a server that is still starting refuses connections, answers 5xx or
// 404 from a proxy, serves the old release, or answers slowly while it warms up, so every kind
// of failure is retried, and the last attempt's failure is the one reported.
import { isDeepStrictEqual } from "node:util";
import { lookupJsonPath } from "./jsonPath";
import { hasCredentials, redactCredentials, redactUrl } from "./redact";
import { Check, CheckSpec } from "./spec";

/** Why a check failed against a target. */
export type FailureKind = "status" | "body" | "json" | "latency" | "unreachable" | "timeout";

export interface Failure {
    readonly kind: FailureKind;
    /** One line, naming what was expected and what came. */
    readonly message: string;
}

/** One check against one target, as its last attempt ended. */
export interface CheckResult {
    /** The target's base URL. */
    readonly target: string;
    /** The check's name. */
    readonly check: string;
    readonly method: string;
    readonly url: string;
    readonly passed: boolean;
    /** Requests made, retries included. */
    readonly attempts: number;
    /** The last answer's status; null when none came. */
    readonly status: number | null;
    /** The last answer's time from request to the end of its body; null when none came. */
    readonly latencyMs: number | null;
    readonly failure: Failure | null;
}

/** The outcome of a run: the JSON report's shape. */
export interface RunReport {
    /** Whether every check passed against every target. */
    readonly passed: boolean;
    /** (check, target) pairs run. */
    readonly checks: number;
    /** Pairs that failed. */
    readonly failures: number;
    readonly targets: readonly string[];
    /** Targets in the order given, each with the checks in the file's order. */
    readonly results: readonly CheckResult[];
    readonly deadlineSeconds: number;
    /** ISO 8601 times of the run. */
    readonly startedAt: string;
    readonly finishedAt: string;
}

/** Overrides of the check file's settings. */
export interface RunOptions {
    readonly deadlineSeconds?: number;
    readonly concurrency?: number;
}

/** A target's URL that cannot be used. */
export class TargetError extends Error {}

const firstBackoffMs = 100;
const maxBackoffMs = 1000;
const excerptLength = 120;

/**
 * The base URL checks' paths are appended to: http(s), no query, fragment or credentials, no
 * trailing slash. Throws TargetError.
 */
export function normalizeTarget(target: string): string {
    // Targets are quoted in errors: never with a credential in them.
    const shown = redactUrl(target);
    if (hasCredentials(target)) {
        throw new TargetError(`target ${shown} carries credentials: checks send none (the targets are the app's own servers); give http://HOST:PORT`);
    }
    let url: URL;
    try {
        url = new URL(target);
    } catch {
        throw new TargetError(`target ${JSON.stringify(shown)} is not a URL: write it as http://HOST:PORT`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new TargetError(`target ${shown} must be an http:// or https:// URL`);
    if (url.search || url.hash || url.username || url.password) {
        throw new TargetError(`target ${redactCredentials(url.href)} must be a base URL with no query, fragment or credentials, e.g. http://10.0.0.5:8000`);
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * Runs every check of `spec` against every target, at most `concurrency` requests at once, and
 * retries each failing pair with a short backoff until the deadline (counted from the start).
 * Every pair is tried at least once; a request past the deadline may still take up to the
 * request timeout. Throws TargetError for an unusable target, before any request.
 */
export async function runChecks(spec: CheckSpec, targets: readonly string[], options: RunOptions = {}): Promise<RunReport> {
    const baseUrls = targets.map(normalizeTarget);
    const deadlineSeconds = options.deadlineSeconds ?? spec.deadlineSeconds;
    const startedAt = new Date();
    const deadline = startedAt.getTime() + deadlineSeconds * 1000;
    const slots = new Slots(options.concurrency ?? spec.concurrency);
    // Timers take whole milliseconds (spec.ts bounds the value to what they can hold).
    const timeoutMs = Math.ceil(spec.requestTimeoutSeconds * 1000);
    const results = await Promise.all(
        baseUrls.flatMap((target) => spec.checks.map((check) => checkUntilDeadline(check, target, deadline, timeoutMs, slots))),
    );
    const failures = results.filter((result) => !result.passed).length;
    return {
        passed: failures === 0,
        checks: results.length,
        failures,
        targets: baseUrls,
        results,
        deadlineSeconds,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
    };
}

async function checkUntilDeadline(check: Check, target: string, deadline: number, timeoutMs: number, slots: Slots): Promise<CheckResult> {
    const url = target + check.path;
    // A path may carry a credential in its query (?token={{TOKEN}}): reports never show it.
    const shownUrl = redactCredentials(url);
    let attempts = 0;
    for (let backoffMs = firstBackoffMs; ; backoffMs = Math.min(backoffMs * 2, maxBackoffMs)) {
        attempts += 1;
        const outcome = await slots.run(() => attempt(check, url, shownUrl, timeoutMs));
        const remainingMs = deadline - Date.now();
        if (outcome.failure === null || remainingMs <= 0) {
            return { target, check: check.name, method: check.method, url: shownUrl, passed: outcome.failure === null, attempts, ...outcome };
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(backoffMs, remainingMs)));
    }
}

interface Outcome {
    readonly status: number | null;
    readonly latencyMs: number | null;
    readonly failure: Failure | null;
}

/** One request, judged: status, then body texts, then JSON, then latency. */
async function attempt(check: Check, url: string, shownUrl: string, timeoutMs: number): Promise<Outcome> {
    const sentAt = performance.now();
    let status: number;
    let body: string;
    try {
        // Redirects are not followed: a check sees the status its target answered.
        const response = await fetch(url, {
            method: check.method,
            headers: check.headers,
            body: check.body,
            redirect: "manual",
            signal: AbortSignal.timeout(timeoutMs),
        });
        status = response.status;
        body = await response.text();
    } catch (error) {
        return { status: null, latencyMs: null, failure: requestFailure(error, shownUrl, timeoutMs) };
    }
    const latencyMs = Math.round(performance.now() - sentAt);
    return { status, latencyMs, failure: judge(check, status, body, latencyMs) };
}

function judge(check: Check, status: number, body: string, latencyMs: number): Failure | null {
    const { expect } = check;
    if (status !== expect.status) {
        return { kind: "status", message: `status ${status}, expected ${expect.status}; body: ${excerpt(body)}` };
    }
    const missing = expect.bodyContains.find((text) => !body.includes(text));
    if (missing !== undefined) {
        return { kind: "body", message: `body lacks ${JSON.stringify(missing)}; body: ${excerpt(body)}` };
    }
    if (expect.json.length > 0) {
        let document: unknown;
        try {
            document = JSON.parse(body);
        } catch {
            return { kind: "json", message: `body is not JSON: ${excerpt(body)}` };
        }
        for (const assertion of expect.json) {
            const found = lookupJsonPath(document, assertion.at);
            if ("exists" in assertion) {
                if (found.found !== assertion.exists) {
                    return { kind: "json", message: `${assertion.path} is ${found.found ? "present" : "missing"}, expected it ${assertion.exists ? "present" : "absent"}; body: ${excerpt(body)}` };
                }
            } else if (!found.found) {
                return { kind: "json", message: `${assertion.path} is missing, expected ${brief(assertion.equals)}; body: ${excerpt(body)}` };
            } else if (!isDeepStrictEqual(found.value, assertion.equals)) {
                return { kind: "json", message: `${assertion.path} is ${brief(found.value)}, expected ${brief(assertion.equals)}` };
            }
        }
    }
    if (expect.maxLatencyMs !== undefined && latencyMs > expect.maxLatencyMs) {
        return { kind: "latency", message: `took ${latencyMs} ms, over the ${expect.maxLatencyMs} ms bound` };
    }
    return null;
}

/** A request that got no complete answer: timed out, could not reach the target, or not in HTTP. */
function requestFailure(error: unknown, url: string, timeoutMs: number): Failure {
    // The timeout's signal is the only one: some fetch versions call its abort an AbortError.
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
        return { kind: "timeout", message: `no complete answer from ${url} within ${timeoutMs} ms` };
    }
    // fetch rejects with "fetch failed" and the socket's error as its cause (an AggregateError
    // when several addresses were tried).
    type Cause = Error & { code?: string; errors?: (Error & { code?: string })[] };
    const cause = error instanceof Error ? (error.cause as Cause | undefined) : undefined;
    const code = cause?.code ?? cause?.errors?.[0]?.code;
    const reason = code ?? cause?.message ?? String(error);
    return { kind: "unreachable", message: explain(code, cause?.message ?? "", url) ?? `cannot reach ${url}: ${reason}` };
}

/** A sentence for the socket and parser errors that name no obvious cause, or undefined. */
function explain(code: string | undefined, detail: string, url: string): string | undefined {
    if (code === "HPE_INVALID_CONSTANT") {
        return `${url} answered in something other than HTTP (no "HTTP/" status line; ${code}): another service (SSH, TLS, a database) listens on that port, not the app`;
    }
    if (code?.startsWith("HPE_")) return `${url} answered with malformed HTTP (${detail.replace(/^Response does not match the HTTP\/1\.1 protocol /, "").replace(/[()]/g, "")}; ${code})`;
    if (code === "UND_ERR_SOCKET") return `${url} closed the connection without an answer (${code})`;
    if (code === "ECONNRESET") return `${url} reset the connection without an answer (${code})`;
    if (code && /^ERR_SSL_|^EPROTO$/.test(code)) {
        return `the TLS handshake with ${url} failed (${code}): if the target serves plain HTTP, write it http://`;
    }
    return undefined;
}

function excerpt(body: string): string {
    const oneLine = body.replace(/\s+/g, " ").trim();
    if (oneLine === "") return "(empty)";
    return oneLine.length > excerptLength ? `${oneLine.slice(0, excerptLength)}...` : oneLine;
}

function brief(value: unknown): string {
    const text = JSON.stringify(value) ?? "undefined";
    return text.length > excerptLength ? `${text.slice(0, excerptLength)}...` : text;
}

/** At most `limit` calls of `run` at once; the others wait their turn. */
class Slots {
    private free: number;
    private readonly waiting: (() => void)[] = [];

    constructor(limit: number) {
        this.free = limit;
    }

    async run<T>(task: () => Promise<T>): Promise<T> {
        if (this.free > 0) this.free -= 1;
        else await new Promise<void>((resolve) => this.waiting.push(resolve));
        try {
            return await task();
        } finally {
            const next = this.waiting.shift();
            if (next) next();
            else this.free += 1;
        }
    }
}
