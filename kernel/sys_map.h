#ifndef KERNEL_SYS_MAP_H
#define KERNEL_SYS_MAP_H
#include <stdint.h>
struct task;
/* a flexpage inside the user window, outside the UTCB area, order 12..22 */
int fpage_ok(uint64_t fpage);
/* map or grant npages from src (sva) to dst (dva) with rights & each source's */
long map_pages(struct task *src, uint64_t sva, struct task *dst, uint64_t dva, uint64_t npages, uint32_t rights,
               int grant);
/* the two halves of map_pages: every check (nothing changes), and the
 * mapping itself once the checks passed */
long map_pages_check(struct task *src, uint64_t sva, struct task *dst, uint64_t dva, uint64_t npages, uint32_t rights,
                     int grant);
long map_pages_checked(struct task *src, uint64_t sva, struct task *dst, uint64_t dva, uint64_t npages, uint32_t rights,
                       int grant);
#endif
