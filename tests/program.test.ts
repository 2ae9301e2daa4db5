// The Pulumi program itself, run in-process under the SDK's mocks with a stack's configuration.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";

type Program = () => Promise<Record<string, unknown>>;

function setConfig(values: Record<string, string>): void {
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(values).map(([key, value]) => [`holodeck:${key}`, value])));
}

describe("the Pulumi program under mocks", () => {
    let program: Program;
    const commit = "3f786850e387550fdab836ed7e6dc881de23001b";

    before(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
                call: (args) => args.inputs,
            },
            "holodeck",
            "test",
        );
        setConfig({ appRepo: "https://git.example.com/org/app.git", commit });
        program = (await import("../index")).default as Program;
    });

    it("exports the release and the command the build minion runs for it", async () => {
        setConfig({
            appRepo: "https://git.example.com/org/app.git", commit, appSubdir: "services/web",
            appService: "web --port 8000", pipFindLinks: '["https://wheels.example.com/simple app/"]',
        });
        const outputs = await program();
        assert.equal(outputs.commit, commit);
        assert.equal(outputs.appRepo, "https://git.example.com/org/app.git");
        assert.equal(
            outputs.buildCommand,
            `/usr/local/bin/holodeck-build --repo https://git.example.com/org/app.git --commit ${commit} `
                + "--out /var/lib/holodeck/releases --python /usr/bin/python3 --subdir services/web "
                + "--service 'web --port 8000' --find-links 'https://wheels.example.com/simple app/'",
        );
    });

    it("fails with every configuration problem named, before anything is built", async () => {
        setConfig({ appRepo: "https://git.example.com/org/app.git", commit: "main" });
        await assert.rejects(program(), /invalid stack configuration:\n {2}- holodeck:commit 'main' is not a full 40-hex commit SHA/);
    });
});
