// The repository's stack files as the Pulumi CLI would hand them to the program, and the stand-in
// for a test stack's outputs that offline runs of prod promote.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { OfflineCloud } from "./offlineRun";
import { repoRoot } from "./paths";

/** The project's name, from Pulumi.yaml. */
export function projectName(): string {
    return (parse(fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8")) as { name: string }).name;
}

/** Pulumi.<stack>.yaml's config: strings as they are, anything structured as JSON (as the CLI does). */
export function stackConfig(stack: string): Record<string, string> {
    const file = path.join(repoRoot, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new Error(`no ${path.relative(process.cwd(), file)}: use a stack that has a stack file (test, prod)`);
    const settings = (parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> }).config ?? {};
    return Object.fromEntries(Object.entries(settings).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]));
}

/** Pulumi.<stack>.yaml's holodeck:appConfig, the app's settings in that environment. */
export function stackAppConfig(stack: string): Record<string, string> {
    return JSON.parse(stackConfig(stack)["holodeck:appConfig"] ?? "{}") as Record<string, string>;
}

/** For prod: what a passing test stack exports for `commit`, made up. */
export function promotionStandIn(config: Record<string, string>, commit: string): OfflineCloud {
    const sha256 = createHash("sha256").update(`stand-in ${commit}`).digest("hex");
    const artifact = {
        commit, version: `1.0.0+git.${commit.slice(0, 7)}`, projectVersion: "1.0.0", packageName: "holodeck-hello", sha256,
        url: `https://swift.offline.invalid/v1/AUTH_offline/artifacts/holodeck-hello_${sha256.slice(0, 12)}.deb?temp_url_sig=offline`,
    };
    const from = config["holodeck:promoteFrom"] ?? "organization/holodeck/test";
    return { stackOutputs: { [from]: { artifact, verification: { sha256, commit, passed: true, checks: 6, failures: 0, at: "offline" } } } };
}
