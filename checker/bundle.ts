// The check runner as one self-contained script for the Salt master, which has Node (Debian's
// 18) but no node_modules: esbuild bundles the CLI with the yaml package into one CommonJS file.
import * as path from "node:path";
import { buildSync } from "esbuild";
import { repoRoot } from "../lib/paths";

/**
 * The bundled source of holodeck-check (run it as `node FILE ...`, or make it executable: it
 * starts with a #! line). The same sources give the same text, whatever the working directory.
 */
export function bundleChecker(): string {
    const result = buildSync({
        entryPoints: [path.join(repoRoot, "checker", "cli.ts")],
        absWorkingDir: repoRoot,
        bundle: true,
        platform: "node",
        target: "node18",
        format: "cjs",
        banner: { js: "#!/usr/bin/env node" },
        write: false,
        logLevel: "silent",
    });
    return result.outputFiles[0].text;
}
