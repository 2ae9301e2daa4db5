// Failures of what components read back reach a real CLI as ResourceErrors on the component, with
// the message alone (no stack trace).
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { reportedOn } from "../lib/errors";

describe("reportedOn", () => {
    const component = { name: "the component" } as unknown as pulumi.Resource;

    it("turns what the parser throws into a ResourceError on the resource, hiding the stack", () => {
        const parse = reportedOn(component, (text: string) => JSON.parse(text) as unknown);
        assert.throws(() => parse("{not json"), (error: unknown) => {
            assert.ok(pulumi.ResourceError.isInstance(error), String(error));
            assert.equal(error.resource, component);
            assert.equal(error.hideStack, true);
            assert.match(error.message, /JSON/);
            return true;
        });
    });

    it("passes values through and keeps a ResourceError as it is", () => {
        assert.deepEqual(reportedOn(component, (text: string) => JSON.parse(text) as unknown)("[1]"), [1]);
        const own = new pulumi.ResourceError("already reported", component, false);
        assert.throws(() => reportedOn(component, () => { throw own; })(undefined), (error) => error === own);
    });
});
