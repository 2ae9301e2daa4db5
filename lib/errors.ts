// Failures of what a component reads back (a cloud's catalog, a remote command's output) are the
// user's to fix, not program bugs: a real CLI prints a ResourceError's message against the
// resource with no stack trace, where a plain Error thrown in an apply shows as an unhandled exception.
import * as pulumi from "@pulumi/pulumi";

/** `parse`, with whatever it throws reported as a ResourceError on `resource`. */
export function reportedOn<T, R>(resource: pulumi.Resource, parse: (value: T) => R): (value: T) => R {
    return (value) => {
        try {
            return parse(value);
        } catch (error) {
            if (error instanceof pulumi.ResourceError) throw error;
            throw new pulumi.ResourceError((error as Error).message, resource, true);
        }
    };
}
