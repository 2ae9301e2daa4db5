// Where this checkout is, whether the code runs from source (ts-node, the Pulumi CLI) or
// precompiled under build/.
import * as fs from "node:fs";
import * as path from "node:path";

function findRoot(start: string): string {
    for (let dir = start; ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml")) && fs.existsSync(path.join(dir, "builder"))) return dir;
        if (dir === path.dirname(dir)) throw new Error(`no Holodeck checkout (Pulumi.yaml and builder/) above ${start}`);
    }
}

/** The repository's root directory. */
export const repoRoot = findRoot(__dirname);
/** HoloMaker's scripts, copied to the build minion. */
export const builderDir = path.join(repoRoot, "builder");
