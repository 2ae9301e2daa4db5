// Errors the user fixes (configuration, another stack's outputs, what a component reads back from
// the cloud or a remote command), as a real CLI should print them: the message alone.
//
// They carry no stack frames. The SDK util.inspect()s every error it reports, and Node 20's inspect
// loops on the frames that @pulumi/pulumi's source maps place at node_modules/@pulumi/<file>.ts
// until the string outgrows memory (seen here: 25 s and 3 GB per failed preview, or a crash).
import * as pulumi from "@pulumi/pulumi";

/** A RunError: the CLI prints its message, and nothing else, against the stack. */
export class InputError extends pulumi.RunError {
    constructor(message: string) {
        super(message);
        this.stack = message;
    }
}

/** A ResourceError on `resource` that the CLI prints as its message alone. */
export function resourceError(message: string, resource: pulumi.Resource): pulumi.ResourceError {
    const error = new pulumi.ResourceError(message, resource, true);
    error.stack = message;
    return error;
}

/** `parse`, with whatever it throws reported as a ResourceError on `resource`, its message alone. */
export function reportedOn<T, R>(resource: pulumi.Resource, parse: (value: T) => R): (value: T) => R {
    return (value) => {
        try {
            return parse(value);
        } catch (error) {
            if (error instanceof pulumi.ResourceError) throw error;
            throw resourceError((error as Error).message, resource);
        }
    };
}
