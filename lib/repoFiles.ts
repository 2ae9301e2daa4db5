// The files of this checkout the program ships to its servers: the Salt state tree, HoloMaker's
// scripts and the functional-check runner. index.ts reads them and hands them to the components,
// so a component never reads the repository and can be built alone in a test.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import { builderDir, repoRoot } from "./paths";

/** A file copied to a server, with its sha256: a new hash copies it again. */
export interface ShippedFile {
    /** Where it is on this machine. */
    readonly path: string;
    /** sha256 of its content, hex. */
    readonly sha256: string;
}

function shipped(file: string): ShippedFile {
    return { path: file, sha256: createHash("sha256").update(fs.readFileSync(file)).digest("hex") };
}

/** The state tree in the repository: salt/states (file_roots) and salt/pillar (pillar_roots). */
export const saltDir = path.join(repoRoot, "salt");

/** Every file of the tree, by path relative to salt/, in a stable order. */
export function readStateTree(dir: string = saltDir): Record<string, string> {
    const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
        .sort();
    return Object.fromEntries(files.map((file) => [file, fs.readFileSync(path.join(dir, file), "utf8")]));
}

/** HoloMaker's scripts (builder/), as the build minion and a promoting master run them. */
export interface BuilderScripts {
    /** Builds the .deb of a commit. */
    readonly build: ShippedFile;
    /** Uploads a release to the artifact store, or copies a promoted one in. */
    readonly publish: ShippedFile;
    /** Builds and pushes the Docker image that wraps a .deb. */
    readonly image: ShippedFile;
}

export function builderScripts(): BuilderScripts {
    return {
        build: shipped(path.join(builderDir, "holodeck-build")),
        publish: shipped(path.join(builderDir, "holodeck-publish")),
        image: shipped(path.join(builderDir, "holodeck-image")),
    };
}

/**
 * The check runner as one self-contained script for the Salt master, which has Node (Debian's
 * 18) but no node_modules: esbuild bundles checker/cli.ts with the yaml package into one CommonJS
 * file (run it as `node FILE ...`, or make it executable: it starts with a #! line). The same
 * sources give the same text, whatever the working directory.
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

/** Where the bundled runner is written before it is copied to the master (build/ is not committed). */
export const runnerFile = path.join(repoRoot, "build", "holodeck-check.js");

/**
 * The bundled runner, written to {@link runnerFile} (atomically: a concurrent run reads a whole
 * file), since the command provider copies files, not in-memory assets.
 */
export function checkerRunner(): ShippedFile {
    const bundle = bundleChecker();
    fs.mkdirSync(path.dirname(runnerFile), { recursive: true });
    const partial = `${runnerFile}.${process.pid}.partial`;
    fs.writeFileSync(partial, bundle);
    fs.renameSync(partial, runnerFile);
    return { path: runnerFile, sha256: createHash("sha256").update(bundle).digest("hex") };
}
