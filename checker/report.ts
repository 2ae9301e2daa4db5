// A run's report in three forms: a table for people, JSON for programs, JUnit XML for CI.
import { RunReport } from "./run";

/** A plain-text table (target, check, result, latency, detail) and a totals line. */
export function renderTable(report: RunReport): string {
    const header = ["TARGET", "CHECK", "RESULT", "LATENCY", "DETAIL"];
    const rows = report.results.map((result) => [
        result.target,
        result.check,
        result.passed ? "pass" : `FAIL ${result.failure?.kind ?? ""}`,
        result.latencyMs === null ? "-" : `${result.latencyMs} ms`,
        result.failure ? `${result.failure.message} (${attempts(result.attempts)})` : "",
    ]);
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
    const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]))).join("  ").trimEnd();
    const seconds = (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
    const totals = `${report.checks - report.failures} of ${report.checks} passed, ${report.failures} failed (${seconds.toFixed(1)} s)`;
    return [line(header), ...rows.map(line), totals].join("\n") + "\n";
}

/** The report as pretty JSON, exactly the RunReport shape. */
export function renderJson(report: RunReport): string {
    return JSON.stringify(report, null, 2) + "\n";
}

/**
 * JUnit XML: a testsuite per target, a testcase per check, a <failure> with the kind as its type
 * and the message as its message for each failed one.
 */
export function renderJUnit(report: RunReport): string {
    const seconds = (ms: number | null) => ((ms ?? 0) / 1000).toFixed(3);
    const suites = report.targets.map((target) => {
        const results = report.results.filter((result) => result.target === target);
        const failures = results.filter((result) => !result.passed).length;
        const time = results.reduce((sum, result) => sum + (result.latencyMs ?? 0), 0);
        const cases = results.map((result) => {
            const open = `    <testcase classname=${attribute(target)} name=${attribute(result.check)} time="${seconds(result.latencyMs)}"`;
            if (!result.failure) return `${open}/>`;
            const detail = `${result.method} ${result.url}: ${result.failure.message} (${attempts(result.attempts)})`;
            return [
                `${open}>`,
                `      <failure type=${attribute(result.failure.kind)} message=${attribute(result.failure.message)}>${text(detail)}</failure>`,
                "    </testcase>",
            ].join("\n");
        });
        return [
            `  <testsuite name=${attribute(target)} tests="${results.length}" failures="${failures}" errors="0" skipped="0" time="${seconds(time)}" timestamp=${attribute(report.startedAt)}>`,
            ...cases,
            "  </testsuite>",
        ].join("\n");
    });
    return [
        `<?xml version="1.0" encoding="UTF-8"?>`,
        `<testsuites name="holodeck-check" tests="${report.checks}" failures="${report.failures}" errors="0">`,
        ...suites,
        "</testsuites>",
        "",
    ].join("\n");
}

function attempts(count: number): string {
    return count === 1 ? "1 attempt" : `${count} attempts`;
}

/** Characters XML 1.0 cannot hold at all, even escaped. */
// eslint-disable-next-line no-control-regex
const notXml = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function text(value: string): string {
    return value.replace(notXml, "\uFFFD").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A quoted attribute value; newlines and tabs escaped so they survive attribute normalization. */
function attribute(value: string): string {
    return `"${text(value).replace(/"/g, "&quot;").replace(/\n/g, "&#10;").replace(/\r/g, "&#13;").replace(/\t/g, "&#9;")}"`;
}
