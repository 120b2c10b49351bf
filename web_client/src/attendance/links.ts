// Where the attendance and scores page of a series lives.

export function attendanceHref(series: string | number, locale: string): string {
  return `/app/attendance.html?series=${encodeURIComponent(String(series))}&lang=${encodeURIComponent(locale)}`;
}
