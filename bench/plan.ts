// Plan benchmark: evaluation time of the AppServers component under the Pulumi SDK's mocks for
// 1, 10, 100 and 1000 servers, as precompiled JS, side by side with the SDK's floor (the same
// custom resources registered bare, with no logic of ours). Each measurement runs in its own node
// process (bench/planWorker.ts); the median of the runs is reported. Progress goes to stderr, the
// table and verdicts to stdout.
//
//   usage: node build/bench/bench/plan.js [--runs R] [--servers N,N,...]   (npm run bench:plan)
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type { FloorSpec, Mode, WorkerResult } from "./planWorker";

// The issue's targets: our cost per server within this factor of the floor's, and linear in N.
const targetRatio = 1.3;
// Growth of ms/server from the second-largest N to the largest that still counts as linear.
const linearTolerance = 1.25;

const worker = path.join(__dirname, "planWorker.js");

function runWorker(mode: Mode, servers: number, floor?: FloorSpec): WorkerResult {
    const args = ["--expose-gc", worker, "--mode", mode, "--servers", String(servers), ...(floor ? ["--floor", JSON.stringify(floor)] : [])];
    const child = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 300_000 });
    if (child.status !== 0) {
        throw new Error(`worker ${mode} N=${servers} failed (${child.error?.message ?? `exit ${child.status ?? child.signal}`}):\n${child.stderr}`);
    }
    // The result is the last line: anything the SDK logs comes before it.
    return JSON.parse(child.stdout.trim().split("\n").pop() ?? "") as WorkerResult;
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function sum(counts: Record<string, number>): number {
    return Object.values(counts).reduce((total, count) => total + count, 0);
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
    return JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
}

/** Right-aligned columns under a header, separated by two spaces. */
function table(header: string[], rows: string[][]): string {
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
    const line = (cells: string[]) => cells.map((cell, column) => cell.padStart(widths[column])).join("  ");
    return [line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)].join("\n");
}

function parseArguments(argv: string[]): { runs: number; servers: number[] } {
    const usage = "usage: node build/bench/bench/plan.js [--runs R] [--servers N,N,...]";
    let runs = 3;
    let servers = [1, 10, 100, 1000];
    for (let index = 0; index < argv.length; index += 2) {
        const value = argv[index + 1];
        if (argv[index] === "--runs" && value !== undefined) runs = Number(value);
        else if (argv[index] === "--servers" && value !== undefined) servers = value.split(",").map(Number);
        else throw new Error(`bad arguments ${JSON.stringify(argv)} (${usage})`);
    }
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number of at least 1 (${usage})`);
    if (servers.length < 2 || servers.some((count) => !Number.isInteger(count) || count < 1)) {
        throw new Error(`--servers needs two or more whole numbers of at least 1, to judge linearity (${usage})`);
    }
    return { runs, servers: [...new Set(servers)].sort((a, b) => a - b) };
}

interface Point {
    readonly servers: number;
    /** Custom resources AppServers registered, by type token (the same in every run). */
    readonly custom: Record<string, number>;
    readonly ours: WorkerResult[];
    readonly floor: WorkerResult[];
}

function measure(servers: number, runs: number): Point {
    const ours: WorkerResult[] = [];
    const floor: WorkerResult[] = [];
    let spec: FloorSpec | undefined;
    // Alternating, so drift in the machine's load touches both sides alike.
    for (let run = 1; run <= runs; run++) {
        const result = runWorker("ours", servers);
        if (ours.length > 0 && !sameCounts(result.custom, ours[0].custom)) {
            throw new Error(`AppServers registered different resources in two runs for N=${servers}`);
        }
        ours.push(result);
        // The floor registers what the mocks saw AppServers register, with the same property maps.
        spec ??= Object.fromEntries(Object.entries(result.custom).map(([type, count]) => [type, { count, keys: result.propertyKeys[type] }]));
        floor.push(runWorker("floor", servers, spec));
        process.stderr.write(`bench/plan: N=${servers} run ${run}/${runs}: ours ${result.evalMs.toFixed(0)} ms, floor ${floor[floor.length - 1].evalMs.toFixed(0)} ms\n`);
    }
    return { servers, custom: ours[0].custom, ours, floor };
}

function main(): void {
    const { runs, servers } = parseArguments(process.argv.slice(2));
    const started = performance.now();
    const points = servers.map((count) => measure(count, runs));
    const all = points.flatMap((point) => [...point.ours, ...point.floor]);
    const stat = (results: WorkerResult[], pick: (result: WorkerResult) => number) => median(results.map(pick));

    // Per-server and per-release registrations, from the mocks' counts at the smallest and largest N.
    const [low, high] = [points[0], points[points.length - 1]];
    const types = Object.keys(high.custom);
    const perServer = types.map((type) => {
        const slope = ((high.custom[type] ?? 0) - (low.custom[type] ?? 0)) / (high.servers - low.servers);
        return { type, perServer: slope, perRelease: (low.custom[type] ?? 0) - slope * low.servers };
    });
    const list = (entries: [string, number][]) => entries.filter(([, count]) => count).map(([type, count]) => `${count} ${type}`).join(" + ") || "nothing";
    console.log(`AppServers registers (counted by the mocks): ${list(perServer.map(({ type, perServer: count }) => [type, count]))} per server, ` +
        `${list(perServer.map(({ type, perRelease }) => [type, perRelease]))} per release, ` +
        `and the component itself: ${list(Object.entries(high.ours[0].components))}.`);
    console.log(`The floor registers the same custom resources as bare CustomResources: same type tokens, same property maps, plain inputs, no options.\n`);

    const rows = points.map((point) => {
        const ours = stat(point.ours, (result) => result.evalMs);
        const floor = stat(point.floor, (result) => result.evalMs);
        const resources = sum(point.custom);
        const memory = (results: WorkerResult[]) =>
            `${stat(results, (result) => result.peakRssMiB).toFixed(0)} / ${stat(results, (result) => result.liveHeapMiB).toFixed(0)}`;
        return [
            String(point.servers),
            ours.toFixed(1),
            (ours / point.servers).toFixed(2),
            floor.toFixed(1),
            `${(floor / resources).toFixed(3)} × ${(resources / point.servers).toFixed(3)} = ${(floor / point.servers).toFixed(2)}`,
            (ours / floor).toFixed(2),
            (stat(point.ours, (result) => result.evalCpuMs) / stat(point.floor, (result) => result.evalCpuMs)).toFixed(2),
            memory(point.ours),
            memory(point.floor),
        ];
    });
    console.log(table(
        ["N", "ours ms", "ours ms/server", "floor ms", "floor ms/resource × resources/server", "ratio", "CPU ratio", "ours RSS/heap MiB", "floor RSS/heap MiB"],
        rows,
    ));
    console.log(`\nMedians of ${runs} runs, one node process each. ms: wall time from constructing the resources until all are registered and their ` +
        `outputs resolved. ratio: ours ms / floor ms (same registrations); CPU ratio: the same with process CPU time. RSS: peak of the ` +
        `process; heap: V8 heap in use after a full GC at the end of the run.`);
    console.log(`SDK load (require @pulumi/pulumi): ${stat(all, (result) => result.sdkLoadMs).toFixed(0)} ms; AppServers and the provider SDKs it ` +
        `imports: ${stat(points.flatMap((point) => point.ours), (result) => result.componentLoadMs).toFixed(0)} ms (both outside the timed section).\n`);

    // The target and linearity are judged where the per-server cost dominates: the two largest N.
    const [before, last] = points.slice(-2);
    const perServerMs = (point: Point, side: "ours" | "floor") => stat(point[side], (result) => result.evalMs) / point.servers;
    for (const point of [before, last]) {
        const ratio = perServerMs(point, "ours") / perServerMs(point, "floor");
        console.log(`${targetRatio}x target at N=${point.servers}: ours ${perServerMs(point, "ours").toFixed(2)} ms/server, floor ` +
            `${perServerMs(point, "floor").toFixed(2)} ms/server, ratio ${ratio.toFixed(2)}: ${ratio <= targetRatio ? "met" : "MISSED"}`);
    }
    const marginal = (side: "ours" | "floor") =>
        (stat(last[side], (result) => result.evalMs) - stat(before[side], (result) => result.evalMs)) / (last.servers - before.servers);
    console.log(`Marginal cost from N=${before.servers} to N=${last.servers}: ours ${marginal("ours").toFixed(2)} ms/server, floor ` +
        `${marginal("floor").toFixed(2)} ms/server, ratio ${(marginal("ours") / marginal("floor")).toFixed(2)}`);
    for (const side of ["ours", "floor"] as const) {
        const growth = perServerMs(last, side) / perServerMs(before, side);
        console.log(`Linearity (${side}): ms/server at N=${last.servers} / at N=${before.servers} = ${growth.toFixed(2)}: ` +
            `${growth <= linearTolerance ? `linear (within ${linearTolerance}x)` : `NOT linear (over ${linearTolerance}x)`}`);
    }
    console.log(`\nWall time of the benchmark: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

try {
    main();
} catch (error) {
    console.error(`bench/plan: error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
}
