// Socket calls that always resolve: an ack, or an error ack when the server never answers.
// The policy (timeout, retryable codes) is jslib/delivery.js's, shared with the widget.
import { ackCall, RETRYABLE } from "../../jslib/delivery.js";
import { t } from "./dom.js";

export { RETRYABLE };

export function call(socket, event, data, timeout) {
  return ackCall(socket, event, data, { timeout, message: t("console.conv.no_answer") });
}
