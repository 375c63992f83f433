// Socket calls that always resolve: an ack, or an error ack when the server never answers.
import { t } from "./dom.js";

// Error codes worth sending the same request again for (with the same client id).
export const RETRYABLE = new Set(["timeout", "rate_limited", "internal", "server_busy"]);

export async function call(socket, event, data, timeout = 8000) {
  try {
    return await socket.timeout(timeout).emitWithAck(event, data);
  } catch {
    return { ok: false, error: { code: "timeout", message: t("console.conv.no_answer") } };
  }
}
