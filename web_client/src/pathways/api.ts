// The pathways' REST calls and page routes (no DOM): the peer-support offer, a message to the
// group's leaders, the self-help host's meeting report (docs/pathways.md).

import type { Api } from "../protocol/api";

export type OfferStatus = "offered" | "accepted" | "declined" | "proposed" | "matched" | "closed";
export const DECLINE_REASONS = ["no_time", "confidentiality", "not_needed", "other_support", "other"] as const;
export type DeclineReason = (typeof DECLINE_REASONS)[number];

export interface Offer {
  id: number;
  status: OfferStatus;
  consent_contact: boolean;
  reason: DeclineReason | null;
  note: string | null;
  peer_name: string | null;
  conversations: number;
  max_conversations: number;
}

export interface OfferAnswer {
  accept: boolean;
  consent_contact?: boolean;
  reason?: DeclineReason;
  note?: string;
}

export interface Member {
  person_id: number;
  display_name: string;
  role: string;
}

export type Route =
  | { kind: "offer"; id: number }
  | { kind: "message"; groupId: number }
  | { kind: "report"; sessionId: number }
  | { kind: "none" };

/** `#offer=<id>`, `#message=<group id>`, `#report=<session id>`. */
export function parseRoute(hash: string): Route {
  const m = /^#(offer|message|report)=([1-9][0-9]{0,17})$/.exec(hash);
  if (!m) return { kind: "none" };
  const id = Number(m[2]);
  if (m[1] === "offer") return { kind: "offer", id };
  if (m[1] === "message") return { kind: "message", groupId: id };
  return { kind: "report", sessionId: id };
}

export class PathwaysApi {
  constructor(private readonly api: Api) {}

  offer(id: number): Promise<Offer> {
    return this.api.request<Offer>("GET", `/api/peer-support/offers/${id}`);
  }

  answer(id: number, body: OfferAnswer): Promise<Offer> {
    return this.api.request<Offer>("POST", `/api/peer-support/offers/${id}/answer`, body);
  }

  sendToLeaders(groupId: number, body: string): Promise<{ id: number; leaders_told: number }> {
    return this.api.request("POST", `/api/groups/${groupId}/leader-messages`, { body });
  }

  async reportMembers(sessionId: number): Promise<Member[]> {
    const session = await this.api.request<{ group_id: number }>("GET", `/api/sessions/${sessionId}`);
    return this.api.request<Member[]>("GET", `/api/groups/${session.group_id}/members`);
  }

  fileReport(sessionId: number, covered: string, attendance: number[]): Promise<unknown> {
    return this.api.request("POST", `/api/sessions/${sessionId}/meeting-report`, {
      covered,
      attendance,
      no_case_details: true,
    });
  }
}
