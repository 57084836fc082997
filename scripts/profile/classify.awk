# Sums perf samples of one process (pid P) between times T0 and T1 into cost categories,
# per byte: awk -v P=pid -v T0=start -v T1=end -v HZ=1999 -v BYTES=n -f classify.awk perf.txt
# (perf.txt from `perf script -F pid,time,ip,sym,dso`; see docs/benchmarks.md, "Profile").
function cat(s) {
  if (s ~ /sha2::|sha256/) return "sha256";
  if (s ~ /sha1::/) return "sha1";
  if (s ~ /copy_folio_from_iter_atomic/) return "page-cache write copy";
  if (s ~ /_copy_to_iter|_copy_from_iter|copy_page_to_iter|copy_page_from_iter|memmove|memcpy|copy_user|copy_mc/) return "other copies (socket, file read, user)";
  if (s ~ /memset|clear_page|allocate_slab|slab|malloc|_int_free|cfree|calloc|realloc|page_fault|handle_mm_fault|do_anonymous|unmap_page|free_frozen|get_page_from_freelist|__free_pages|zap_|mmap|munmap|folio_alloc|memcg|lru/) return "allocation, zeroing, page faults";
  if (s ~ /rwsem|futex|mutex|parking_lot|spin_lock|RawMutex|Condvar/) return "locking";
  if (s ~ /finish_task_switch|_raw_spin_unlock_irq|schedule|try_to_wake_up|wake|epoll|mio::|tokio::|ep_poll|select_task|enqueue|dequeue|update_curr|pick_next|switch_to|vcpu_is_preempted|idle/) return "wake-ups, scheduling, runtime";
  if (s ~ /tcp_|ip_|nf_|ipt_|net_|softirq|sk_|inet|skb|__dev_|loopback|conntrack|sock|napi|netif|__netif/) return "TCP/IP stack";
  if (s ~ /ext4|mpage|block_|filemap|folio|jbd2|bio|blk_|generic_perform_write|iomap|writeback|es_|dquot|radix|xa_/) return "filesystem (ext4, page cache)";
  if (s ~ /syscall|entry_|irqentry|fdget|security_|vfs_|ksys_|__x64_sys|fsnotify|rw_verify|__fget|fput/) return "syscall entry/exit";
  return "other";
}
{ pid=$1; t=$2; sub(":","",t); if (pid!=P || t<T0 || t>T1) next;
  sym=""; for(i=4;i<NF;i++) sym=sym" "$i; c=cat(sym); n[c]++; tot++ }
END { for (c in n) printf "%-40s %5.1f%%  %5.2f ns/B\n", c, 100*n[c]/tot, n[c]/HZ*1e9/BYTES; printf "%-40s %5.1f%%  %5.2f ns/B (%d samples, %.2f CPU-s)\n", "total", 100, tot/HZ*1e9/BYTES, tot, tot/HZ }
