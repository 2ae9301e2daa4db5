// A bounded load loop through a balancer, as a process of its own beside `pulumi up`: CLIENTS
// concurrent clients GET URL one request at a time (half on keep-alive connections, half opening
// one per request) until SIGTERM, then print one JSON line: every request with its start and end
// (ms since the epoch), status, the release header and the version /health reported (or the
// error). Its memory is bounded: at MAX requests it stops, prints them and exits 3.
//
//   node -r ts-node/register/transpile-only tools/loadClient.ts URL [CLIENTS] [MAX]
import { spawn } from "node:child_process";
import * as http from "node:http";
import { releaseHeader } from "../lib/balancerServer";
import { repoRoot } from "../lib/paths";

/** One request of the loop. */
export interface LoadSample {
    readonly client: number;
    readonly start: number;
    readonly end: number;
    readonly status: number;
    readonly release?: string;
    readonly version?: string;
    readonly error?: string;
}

/** The longest request among samples, in ms (a loop, not Math.max's spread: a run can hold more samples than call arguments fit on the stack). */
export function longestMs(samples: readonly LoadSample[]): number {
    return samples.reduce((longest, sample) => Math.max(longest, sample.end - sample.start), 0);
}

/** A load loop running in a process of its own, as a user's traffic is. */
export interface RunningLoad {
    /** Stops the loop and gives every request it made. */
    stop(): Promise<LoadSample[]>;
}

/** Starts this file as a process with `clients` clients on `url`; stop() fails if the loop ended before it. */
export function startLoad(url: string, clients = 4): RunningLoad {
    const client = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", __filename, url, String(clients)], {
        cwd: repoRoot, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" }, stdio: ["ignore", "pipe", "inherit"],
    });
    let report = "";
    client.stdout.on("data", (chunk: Buffer) => (report += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => client.on("close", resolve));
    return {
        async stop() {
            client.kill("SIGTERM");
            const status = await closed;
            if (status !== 0) throw new Error(`the load client exited ${status} (its error is above)`);
            return JSON.parse(report) as LoadSample[];
        },
    };
}

function request(url: string, agent: http.Agent | false): Promise<Omit<LoadSample, "client">> {
    const start = Date.now();
    return new Promise((resolve) => {
        const done = (sample: Partial<LoadSample>) => resolve({ start, end: Date.now(), status: 0, ...sample });
        const req = http.get(url, { agent, timeout: 10_000 }, (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (body += chunk));
            response.on("end", () => done({
                status: response.statusCode ?? 0,
                release: response.headers[releaseHeader.toLowerCase()] as string | undefined,
                version: /"version": *"([^"]*)"/.exec(body)?.[1],
            }));
            response.on("error", (error) => done({ error: error.message }));
        });
        req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
        req.on("error", (error) => done({ error: error.message }));
    });
}

async function main(): Promise<void> {
    const [url, clientsText = "4", maxText = "600000"] = process.argv.slice(2);
    if (!url) throw new Error("usage: loadClient.ts URL [CLIENTS] [MAX]");
    const max = Number(maxText);
    const samples: LoadSample[] = [];
    let stop = false;
    process.on("SIGTERM", () => (stop = true));
    await Promise.all(Array.from({ length: Number(clientsText) }, async (_, client) => {
        const agent = client % 2 === 0 ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
        while (!stop && samples.length < max) samples.push({ client, ...(await request(url, agent)) });
        if (agent) agent.destroy();
    }));
    process.stdout.write(`${JSON.stringify(samples)}\n`);
    if (!stop) {
        console.error(`loadClient: stopped at its limit of ${max} requests before it was told to: give a larger MAX`);
        process.exitCode = 3;
    }
}

if (require.main === module) {
    main().catch((error: Error) => {
        console.error(`loadClient: ${error.message}`);
        process.exit(2);
    });
}
