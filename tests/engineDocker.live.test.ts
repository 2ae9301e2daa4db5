// @pulumi/docker under the real engine and our docker plugin, against this machine's Docker engine
// (Debian's dockerd): a server container with its network and volume is created as the Docker
// substrate makes one, left alone by a second up, replaced when its user data changes, and gone
// after destroy.
import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { dockerClient, dockerUnavailable, ensureBaseImage } from "../tools/docker";
import { run } from "../tools/localRelease";
import { repoRoot } from "../lib/paths";
import { previewSteps, Workspace } from "./realEngine";

const fixture = path.join(repoRoot, "tests", "fixtures", "docker-program");
const label = "holodeck.enginetest";
const seedFile = "/var/lib/cloud/seed/nocloud/user-data";

function docker(...args: string[]): string {
    return run(dockerClient, args).trim();
}

/** What docker inspect reports of a container, the parts the Docker substrate relies on. */
interface Inspected {
    Id: string;
    Config: { Cmd: string[]; Labels: Record<string, string> };
    State: { Running: boolean };
    HostConfig: { Tmpfs: Record<string, string>; Binds: string[]; CapAdd: string[] };
    NetworkSettings: { Networks: Record<string, unknown> };
}

function inspect(container: string): Inspected {
    return (JSON.parse(docker("inspect", container)) as Inspected[])[0];
}

/** This run's containers, networks and volumes, by label. */
function leftovers(id: string): string[] {
    const filter = `label=${label}=${id}`;
    return [
        ...docker("ps", "-aq", "--filter", filter).split("\n"),
        ...docker("network", "ls", "-q", "--filter", filter).split("\n"),
        ...docker("volume", "ls", "-q", "--filter", filter).split("\n"),
    ].filter(Boolean);
}

describe("@pulumi/docker under the real engine and docker plugin, against the local Docker engine", function () {
    this.timeout(600_000);
    let workspace: Workspace;
    let id: string;

    before(function () {
        const unavailable = dockerUnavailable();
        if (unavailable) throw new Error(unavailable);
        ensureBaseImage();
    });
    beforeEach(() => {
        workspace = new Workspace();
        id = randomBytes(4).toString("hex");
    });
    afterEach(() => {
        // Whatever a failed test left behind, by this run's label.
        const filter = `label=${label}=${id}`;
        for (const container of docker("ps", "-aq", "--filter", filter).split("\n").filter(Boolean)) docker("rm", "-f", "-v", container);
        for (const kind of ["network", "volume"]) {
            for (const object of docker(kind, "ls", "-q", "--filter", filter).split("\n").filter(Boolean)) docker(kind, "rm", object);
        }
        workspace.remove();
    });

    it("up creates a server container, a second up changes nothing, new user data replaces it, destroy leaves nothing", async () => {
        const prefix = `holodeck-enginetest-${id}`;
        const project = await workspace.project("docker-program", fixture, {
            test: { "dockerprogram:run": id, "dockerprogram:userData": "#cloud-config\nhostname: a\n" },
        });

        await workspace.pulumiOk(project, "up", "--yes", "--skip-preview", "-s", "test");
        const first = inspect(`${prefix}-server`);
        assert.ok(first.State.Running, "the server container is not running");
        assert.deepEqual(first.Config.Cmd, ["sleep", "infinity"]);
        assert.equal(first.Config.Labels[label], id);
        assert.deepEqual(Object.keys(first.HostConfig.Tmpfs).sort(), ["/run", "/run/lock"]);
        assert.ok(first.HostConfig.Binds.includes("/sys/fs/cgroup:/sys/fs/cgroup:ro"), first.HostConfig.Binds.join(" "));
        assert.ok(first.HostConfig.Binds.includes(`${prefix}-data:/var/lib/holodeck:rw`), first.HostConfig.Binds.join(" "));
        assert.ok(first.HostConfig.CapAdd.some((cap) => cap.replace(/^CAP_/, "") === "NET_ADMIN"), first.HostConfig.CapAdd.join(" "));
        assert.deepEqual(Object.keys(first.NetworkSettings.Networks), [`${prefix}-net`]);
        assert.equal(docker("exec", first.Id, "cat", seedFile), "#cloud-config\nhostname: a");
        assert.equal(docker("network", "inspect", "--format", `{{index .Labels "${label}"}}`, `${prefix}-net`), id);
        assert.equal(docker("volume", "inspect", "--format", `{{index .Labels "${label}"}}`, `${prefix}-data`), id);
        const outputs = JSON.parse(await workspace.pulumiOk(project, "stack", "output", "--json", "-s", "test")) as Record<string, string>;
        assert.equal(outputs.containerId, first.Id);

        // Nothing changed: the preview counts every resource (and the stack) as the same, and an up
        // that would change anything fails.
        const again = JSON.parse(await workspace.pulumiOk(project, "preview", "--json", "-s", "test")) as { changeSummary?: Record<string, number> };
        assert.deepEqual(again.changeSummary, { same: 5 });
        await workspace.pulumiOk(project, "up", "--yes", "--skip-preview", "--expect-no-changes", "-s", "test");
        assert.equal(inspect(`${prefix}-server`).Id, first.Id);

        // New user data replaces the container (an upload is part of it); the rest stays.
        workspace.configure(project, "test", { "dockerprogram:run": id, "dockerprogram:userData": "#cloud-config\nhostname: b\n" });
        const steps = previewSteps(await workspace.pulumiOk(project, "preview", "--json", "-s", "test"));
        const changed = steps.filter((step) => step.op !== "same").map((step) => `${step.op} ${step.resource}`);
        assert.ok(changed.length > 0 && changed.every((step) => step.endsWith("docker:index/container:Container::server")), changed.join("\n"));
        assert.ok(changed.includes("replace docker:index/container:Container::server"), changed.join("\n"));
        await workspace.pulumiOk(project, "up", "--yes", "--skip-preview", "-s", "test");
        const second = inspect(`${prefix}-server`);
        assert.notEqual(second.Id, first.Id);
        assert.equal(docker("exec", second.Id, "cat", seedFile), "#cloud-config\nhostname: b");
        assert.equal(docker("ps", "-aq", "--no-trunc", "--filter", `id=${first.Id}`), "", "the replaced container is still there");

        await workspace.pulumiOk(project, "destroy", "--yes", "--skip-preview", "-s", "test");
        assert.deepEqual(leftovers(id), []);
        // keepLocally: destroying the RemoteImage leaves the base image for the next stack.
        docker("image", "inspect", "holodeck/debian:bookworm-minbase");
    });
});
