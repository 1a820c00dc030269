import { randomText } from "../../core/random.js";

/**
 * Ids of the Responses API objects this proxy makes up. The prefixes follow OpenAI's (clients
 * and logs recognise them); the rest is random. Response ids also name stored responses, so
 * they are long enough not to be guessed.
 */
const rand = (n: number) => randomText(n, "hex");

export const newResponseId = () => `resp_${rand(24)}`;
export const newMessageItemId = () => `msg_${rand(16)}`;
export const newFunctionCallItemId = () => `fc_${rand(16)}`;
export const newCallId = () => `call_${randomText(12, "base64url")}`;
export const newReasoningItemId = () => `rs_${rand(16)}`;
export const newCustomCallItemId = () => `ctc_${rand(16)}`;
export const newLocalShellItemId = () => `lsh_${rand(16)}`;
/** Ids given to input items that came without one (a string input, EasyInputMessage), for input_items. */
export const newInputItemId = () => `msg_${rand(16)}`;

/** A response id as this proxy makes them (checked before any store look-up). */
export const RESPONSE_ID_RE = /^resp_[0-9a-f]{48}$/;
