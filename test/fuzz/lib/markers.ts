/**
 * Markers: strings the fuzz plants in what it sends (key ids, paths, queries, bodies,
 * headers, metadata) so that an answer quoting the caller's input is caught. The dot
 * keeps them apart from anything the server makes: key ids are base64url (no dots),
 * and no message, field name or timestamp of the service contains "zqxj".
 */
export function marker(n: number): string {
  return `ZQXJ.${n}.`;
}

const PLANTED = /zqxj\./i;

/** Whether `text` quotes a marker (in any letter case). */
export function echoesMarker(text: string): boolean {
  return PLANTED.test(text);
}
