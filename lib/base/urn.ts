/** A URN's own type token and name: urn:pulumi:<stack>::<project>::<parent types$>type::<name>. */
export function splitUrn(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  const types = (parts[2] ?? "").split("$");
  return { type: types[types.length - 1] ?? "", name: parts.slice(3).join("::") };
}
