#include "CPlenumSofia.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// Sources that flood the SIP port, dropped by the kernel before sofia sees them (issue 11).
//
// Why by hand: sofia answers every request it receives with a transaction it keeps for 64*T1, even a
// refusal, so a flood's memory follows its rate however cheaply we refuse. Nothing in sofia (or in
// any Debian library we use) drops a datagram before the transaction layer; a classic BPF socket
// filter (SO_ATTACH_FILTER, no privilege needed on one's own socket) does. The program is a linear
// list of source addresses, rebuilt and swapped atomically whenever the list changes; an address is
// listed for a while and then released. eBPF with a map would scale further but needs CAP_BPF and
// libbpf; a bounded list suffices here, because a flooder that spoofs more addresses than the list
// holds is no cheaper to stop by any source-based means.

// At most 256 entries of 5 instructions: the kernel charges a filter, once translated, against the
// socket's option memory, and refused one of 1,900 instructions here (net.core.optmem_max = 128 KiB).
enum { DROP_SLOTS = 256, MAX_SOCKETS = 8 };

struct drop_entry {
    int family;  // AF_INET or AF_INET6; 0: free
    /// The address in network order: IPv4 in words[0]; IPv6 by its /64 in words[0…1], since any host
    /// has a /64 to pick source addresses from.
    uint32_t words[2];
    double until;
};

struct plenum_drop_list {
    struct drop_entry entries[DROP_SLOTS];
    int sockets[MAX_SOCKETS];
    int socket_count;
    int count;
};

plenum_drop_list *plenum_drop_list_create(void) { return calloc(1, sizeof(plenum_drop_list)); }

void plenum_drop_list_destroy(plenum_drop_list *list) { free(list); }

int plenum_drop_list_count(const plenum_drop_list *list) { return list->count; }

static struct sock_filter statement(uint16_t code, uint32_t k) { return (struct sock_filter)BPF_STMT(code, k); }

static struct sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
    return (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

/// The filter for the current list: by IP version (the first nibble of the network header), compare
/// the source address with every listed one; a match returns 0 (drop), the end returns the whole packet.
static int install(plenum_drop_list *list) {
    struct sock_filter program[BPF_MAXINSNS];
    int n = 0;
    const uint32_t net = (uint32_t)SKF_NET_OFF;
    program[n++] = statement(BPF_LD | BPF_B | BPF_ABS, net);
    program[n++] = statement(BPF_ALU | BPF_RSH | BPF_K, 4);
    program[n++] = jump(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 1);
    int to_ipv6 = n++;  // `ja` to the IPv6 part: conditional jumps reach only 255 instructions
    // IPv4: the source address at offset 12 of the header (RFC 791).
    program[n++] = statement(BPF_LD | BPF_W | BPF_ABS, net + 12);
    for (int i = 0; i < DROP_SLOTS; i++) {
        struct drop_entry *e = &list->entries[i];
        if (e->family != AF_INET) continue;
        program[n++] = jump(BPF_JMP | BPF_JEQ | BPF_K, ntohl(e->words[0]), 0, 1);
        program[n++] = statement(BPF_RET | BPF_K, 0);
    }
    program[n++] = statement(BPF_RET | BPF_K, 0xFFFFFFFFu);
    program[to_ipv6] = statement(BPF_JMP | BPF_JA, (uint32_t)(n - to_ipv6 - 1));
    // IPv6: the source address at offset 8 (RFC 8200), its first two words; a mismatch of the first
    // skips to the next entry (3 instructions on), of the second likewise (1 on).
    for (int i = 0; i < DROP_SLOTS; i++) {
        struct drop_entry *e = &list->entries[i];
        if (e->family != AF_INET6) continue;
        program[n++] = statement(BPF_LD | BPF_W | BPF_ABS, net + 8);
        program[n++] = jump(BPF_JMP | BPF_JEQ | BPF_K, ntohl(e->words[0]), 0, 3);
        program[n++] = statement(BPF_LD | BPF_W | BPF_ABS, net + 12);
        program[n++] = jump(BPF_JMP | BPF_JEQ | BPF_K, ntohl(e->words[1]), 0, 1);
        program[n++] = statement(BPF_RET | BPF_K, 0);
    }
    program[n++] = statement(BPF_RET | BPF_K, 0xFFFFFFFFu);
    struct sock_fprog filter = {.len = (unsigned short)n, .filter = program};
    int result = 0;
    for (int s = 0; s < list->socket_count; s++) {
        int unused = 0;  // the kernel wants an int-sized argument even here
        int rc = list->count == 0 ? setsockopt(list->sockets[s], SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof unused)
                                  : setsockopt(list->sockets[s], SOL_SOCKET, SO_ATTACH_FILTER, &filter, sizeof filter);
        if (rc != 0 && list->count != 0) result = -1;
    }
    return result;
}

int plenum_drop_list_add_socket(plenum_drop_list *list, int fd) {
    if (list->socket_count == MAX_SOCKETS) return -1;
    list->sockets[list->socket_count++] = fd;
    return install(list);
}

int plenum_drop_list_add_sockets_bound_to(plenum_drop_list *list, int port) {
    // sofia does not hand out its sockets: find its UDP sockets among ours by the port they are bound to.
    DIR *fds = opendir("/proc/self/fd");
    if (fds == NULL) return 0;
    int found = 0;
    int own = dirfd(fds);
    for (struct dirent *entry; (entry = readdir(fds)) != NULL;) {
        char *end = NULL;
        long fd = strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != 0 || fd == own) continue;
        int type = 0;
        socklen_t type_length = sizeof type;
        if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0 || type != SOCK_DGRAM) continue;
        struct sockaddr_storage bound;
        socklen_t length = sizeof bound;
        if (getsockname((int)fd, (struct sockaddr *)&bound, &length) != 0) continue;
        int bound_port = bound.ss_family == AF_INET    ? ntohs(((struct sockaddr_in *)&bound)->sin_port)
                         : bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                                       : -1;
        if (bound_port == port && plenum_drop_list_add_socket(list, (int)fd) == 0) found++;
    }
    closedir(fds);
    return found;
}

int plenum_drop_list_drop(plenum_drop_list *list, const char *ip, double until) {
    struct drop_entry candidate = {0};
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, ip, &v4) == 1) {
        candidate.family = AF_INET;
        candidate.words[0] = v4.s_addr;
    } else if (inet_pton(AF_INET6, ip, &v6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&v6)) {  // a dual-stack socket's IPv4 peer: its header is IPv4
            candidate.family = AF_INET;
            memcpy(&candidate.words[0], &v6.s6_addr[12], 4);
        } else {
            candidate.family = AF_INET6;
            memcpy(candidate.words, v6.s6_addr, 8);
        }
    } else {
        return -1;
    }
    candidate.until = until;
    struct drop_entry *slot = NULL;
    for (int i = 0; i < DROP_SLOTS; i++) {
        struct drop_entry *e = &list->entries[i];
        if (e->family == candidate.family && memcmp(e->words, candidate.words, sizeof e->words) == 0) {
            if (e->until < until) e->until = until;  // already listed: extended, the program stays
            return 0;
        }
        if (slot == NULL || (slot->family != 0 && (e->family == 0 || e->until < slot->until))) slot = e;
    }
    if (slot->family == 0) list->count++;  // else the entry released soonest makes room
    *slot = candidate;
    return install(list);
}

void plenum_drop_list_expire(plenum_drop_list *list, double now) {
    int changed = 0;
    for (int i = 0; i < DROP_SLOTS; i++) {
        struct drop_entry *e = &list->entries[i];
        if (e->family != 0 && e->until <= now) {
            e->family = 0;
            list->count--;
            changed = 1;
        }
    }
    if (changed) install(list);
}
