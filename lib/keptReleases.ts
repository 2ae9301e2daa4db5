// The verified releases a building stack remembers (holodeck:keepReleases), as plain data: the
// stack exports them, reads them back at its next update, and redeploys one whose build it would
// otherwise run again from the .deb its store still holds.
import { createHash } from "node:crypto";
import { BuildSettings, Manifest, objectName } from "./holoMaker";

/** A verified release, as the stack's `keptReleases` output lists it. */
export interface KeptRelease {
    /** What it was built from (see `buildKey`). */
    readonly buildKey: string;
    /** The manifest its build printed: the .deb is in the stack's store as `manifest.file`. */
    readonly manifest: Manifest;
}

/** What a building stack exports as `keptReleases`, and reads back at its next update. */
export interface KeptReleases {
    /** Verified releases, newest first. */
    readonly releases: readonly KeptRelease[];
    /** The key of the build the stack holds; "" where its release stood in for one. */
    readonly built: string;
}

/**
 * The key of a build: its commit and holodeck-build's settings and scripts. HoloMaker is
 * bit-reproducible, so the same key builds the same .deb: a kept one can stand in for the build.
 */
export function buildKey(build: BuildSettings, scriptHashes: readonly string[]): string {
    const settings = Object.fromEntries(Object.entries(build).sort(([a], [b]) => (a < b ? -1 : 1)));
    return createHash("sha256").update(JSON.stringify({ settings, scripts: [...scriptHashes].sort() })).digest("hex");
}

const sha256Pattern = /^[0-9a-f]{64}$/;

/**
 * A `keptReleases` output read back (undefined before the stack's first update). Throws, saying
 * what is wrong, on anything else than this program exports.
 */
export function parseKeptReleases(exported: unknown): KeptReleases {
    if (exported === undefined || exported === null) return { releases: [], built: "" };
    const { releases, built } = exported as Partial<KeptReleases>;
    if (!Array.isArray(releases) || (built !== "" && !sha256Pattern.test(String(built)))) {
        throw new Error("the stack's keptReleases output is not a list of releases and the key of a build");
    }
    return { built: String(built), releases: releases.map((entry: Partial<KeptRelease> | null, index) => {
        const manifest = entry?.manifest;
        if (!sha256Pattern.test(String(entry?.buildKey)) || !manifest || !sha256Pattern.test(String(manifest.sha256))
            || !objectName.test(String(manifest.file)) || !String(manifest.file).endsWith(".deb")) {
            throw new Error(`entry ${index} of the stack's keptReleases output is not a kept release (a build key, and a manifest with a sha256 and a .deb file)`);
        }
        return { buildKey: entry.buildKey!, manifest };
    }) };
}

/**
 * The kept release that stands in for the build keyed `key`, if any. Not for the build the stack
 * holds: that one stays as it is (an `up` with nothing changed changes nothing).
 */
export function standIn(kept: KeptReleases, key: string): KeptRelease | undefined {
    return key === kept.built ? undefined : kept.releases.find((release) => release.buildKey === key);
}

/**
 * The list after `verified` passed every gate: it first, then the others newest first, at most
 * `keep`; `built` tells whether a build made it (rather than a kept release standing in).
 */
export function keepRelease(kept: KeptReleases, verified: KeptRelease, built: boolean, keep: number): KeptReleases {
    return {
        releases: [verified, ...kept.releases.filter((release) => release.buildKey !== verified.buildKey)].slice(0, keep),
        built: built ? verified.buildKey : "",
    };
}
