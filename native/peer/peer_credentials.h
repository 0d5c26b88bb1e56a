// Who is at the other end of a connected Unix domain socket: the kernel's record of the peer
// process (uid, gid, pid) and, on Linux, its supplementary groups, taken when it connected
// (SO_PEERCRED, SO_PEERGROUPS). Pure POSIX, no Node-API: used by the addon's
// getPeerCredentials(fd) and by native/test/peer_test.cc.
#pragma once

#include <cstdint>
#include <vector>

namespace wdm::peer {

struct PeerCredentials {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  // 0 when the platform does not report it (macOS LOCAL_PEERPID absent).
  std::int32_t pid = 0;
  // Supplementary groups (Linux SO_PEERGROUPS); empty when not available.
  std::vector<std::uint32_t> groups;
  bool has_groups = false;
};

// Fills `out` for the connected AF_UNIX socket `fd`. Returns 0, or the errno of the failing
// call (ENOTSUP where the platform has no peer credentials, e.g. Windows).
int GetPeerCredentials(int fd, PeerCredentials* out);

}  // namespace wdm::peer
