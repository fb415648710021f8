// Joining the providers' activity sets into the one set a worker registers. A plain object
// spread would let a later provider silently replace an earlier one's activity of the same
// name; here a shared name is a compile error, and (for sets built at run time) an error at
// start-up naming it.

/** `B`, with every name it shares with `A` made impossible to satisfy. */
type WithoutClashes<A, B> = B & { [K in Extract<keyof A, keyof B>]: `activity ${K & string} is defined by two providers` };

export function joinActivities<A extends object, B extends object>(a: A, b: WithoutClashes<A, B>): A & B {
  const clash = Object.keys(b).find((name) => Object.prototype.hasOwnProperty.call(a, name));
  if (clash !== undefined) throw new Error(`activity ${clash} is defined by two providers`);
  return { ...a, ...b };
}
