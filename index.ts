// Holodeck's Pulumi program. Today it validates the stack's configuration and renders the
// HoloMaker command a build minion runs for the configured commit; the OpenStack components
// (Salt master, build minion, app servers) build on this.
import { loadConfig } from "./config";
import { holodeckBuildCommand } from "./lib/holoMaker";

/** Where the build minion keeps the builder script and the releases it builds. */
const minionBuilderPath = "/usr/local/bin/holodeck-build";
const minionReleaseDir = "/var/lib/holodeck/releases";

export = async () => {
    const { build } = loadConfig();
    return {
        appRepo: build.repo,
        commit: build.commit,
        buildCommand: holodeckBuildCommand(build, minionBuilderPath, minionReleaseDir),
    };
};
