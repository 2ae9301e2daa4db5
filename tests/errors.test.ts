// Failures of what components read back reach a real CLI as ResourceErrors on the component, with
// the message alone (no stack trace).
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { InputError, reportedOn } from "../lib/errors";

describe("reportedOn", () => {
    const component = { name: "the component" } as unknown as pulumi.Resource;

    it("turns what the parser throws into a ResourceError on the resource, hiding the stack", () => {
        const parse = reportedOn(component, (text: string) => JSON.parse(text) as unknown);
        assert.throws(() => parse("{not json"), (error: unknown) => {
            assert.ok(pulumi.ResourceError.isInstance(error), String(error));
            assert.equal(error.resource, component);
            assert.equal(error.hideStack, true);
            assert.match(error.message, /JSON/);
            assert.equal(error.stack, error.message, "no frames for the SDK's inspect to choke on");
            return true;
        });
    });

    it("passes values through and keeps a ResourceError as it is", () => {
        assert.deepEqual(reportedOn(component, (text: string) => JSON.parse(text) as unknown)("[1]"), [1]);
        const own = new pulumi.ResourceError("already reported", component, false);
        assert.throws(() => reportedOn(component, () => { throw own; })(undefined), (error) => error === own);
    });
});

describe("InputError", () => {
    it("is a RunError whose stack is its message alone", () => {
        // Frames the SDK maps to node_modules/@pulumi/<file>.ts make Node 20's util.inspect loop (see lib/errors.ts).
        const error = new InputError("holodeck:commit is a placeholder");
        assert.ok(pulumi.RunError.isInstance(error));
        assert.equal(error.stack, "holodeck:commit is a placeholder");
    });
});
