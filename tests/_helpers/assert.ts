// Small assertion helpers on node:assert/strict (no @std here).
import nodeAssert from "node:assert/strict";

export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

type ErrorClass = new (...args: never[]) => Error;

export function assertThrows(fn: () => unknown, type: ErrorClass, includes?: string): Error {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  return check(caught, type, includes);
}

export async function assertRejects(
  fn: () => Promise<unknown>,
  type: ErrorClass,
  includes?: string,
): Promise<Error> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  return check(caught, type, includes);
}

function check(caught: unknown, type: ErrorClass, includes?: string): Error {
  if (caught === undefined) {
    throw new nodeAssert.AssertionError({ message: `Expected ${type.name}` });
  }
  if (!(caught instanceof type)) {
    throw new nodeAssert.AssertionError({
      message: `Expected ${type.name}, got ${caught}`,
    });
  }
  if (includes !== undefined && !caught.message.includes(includes)) {
    throw new nodeAssert.AssertionError({
      message: `Expected "${caught.message}" to include "${includes}"`,
    });
  }
  return caught;
}
