// Between the member app and the coordinator pages: people with a coordinator (or admin) role
// land on the coordinator pages after a one-click sign-in, and the member app links there.

import type { I18n } from "../i18n";
import { h } from "../ui/dom";

export const COORDINATOR_PAGE = "/app/coordinator.html";

export function isStaff(roles: readonly string[] | undefined): boolean {
  return !!roles && (roles.includes("coordinator") || roles.includes("admin"));
}

/** The member app's link to the coordinator pages, for staff only. */
export function coordinatorLink(i18n: I18n, roles: readonly string[] | undefined): HTMLElement | null {
  if (!isStaff(roles)) return null;
  return h("a", { href: COORDINATOR_PAGE, class: "btn", "data-testid": "coordinator-link", text: i18n.t("coord.link.coordinator") });
}
