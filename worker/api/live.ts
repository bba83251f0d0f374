// The live WebSocket's HTTP side: the ticket (`POST /live/ticket`) and the upgrade's query.
// The messages on the socket are worker/realtime/messages.ts.
import { z } from "zod";
import { plainText } from "./fields.ts";

export const liveTicketResponseSchema = z
  .object({
    ticket: z.string(),
    expires_at: z.string(),
    /** Where to open the socket: GET this URL with Upgrade: websocket. */
    url: z.string(),
  })
  .meta({ id: "LiveTicket" });
export type LiveTicketResponse = z.output<typeof liveTicketResponseSchema>;

export const liveConnectQuerySchema = z
  .strictObject({
    ticket: plainText("ticket", { max: 2000, trim: false }).meta({
      description: "From POST /live/ticket; single use, valid 30 s.",
    }),
  })
  .meta({ id: "LiveConnectQuery" });
