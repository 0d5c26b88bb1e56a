// GetPeerCredentials (see peer_credentials.h): SO_PEERCRED + SO_PEERGROUPS on Linux,
// getpeereid + LOCAL_PEERPID on macOS/BSD, ENOTSUP elsewhere.
#include "peer/peer_credentials.h"

#include <cerrno>

#if !defined(_WIN32)
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <sys/un.h>
#endif
#endif

namespace wdm::peer {

#if defined(__linux__)

int GetPeerCredentials(int fd, PeerCredentials* out) {
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return errno;
  out->uid = cred.uid;
  out->gid = cred.gid;
  out->pid = cred.pid;
  out->groups.clear();
  out->has_groups = false;
#if defined(SO_PEERGROUPS)
  // Linux 4.13+: the groups the peer had when it connected. ERANGE gives the size needed.
  std::vector<gid_t> groups(32);
  socklen_t glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
  int rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen);
  if (rc != 0 && errno == ERANGE && glen > 0) {
    groups.resize(glen / sizeof(gid_t));
    rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen);
  }
  if (rc == 0) {
    groups.resize(glen / sizeof(gid_t));
    out->groups.assign(groups.begin(), groups.end());
    out->has_groups = true;
  }
#endif
  return 0;
}

#elif !defined(_WIN32)

int GetPeerCredentials(int fd, PeerCredentials* out) {
  uid_t uid = 0;
  gid_t gid = 0;
  if (getpeereid(fd, &uid, &gid) != 0) return errno;
  out->uid = uid;
  out->gid = gid;
  out->pid = 0;
#if defined(LOCAL_PEERPID)
  pid_t pid = 0;
  socklen_t len = sizeof(pid);
  if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &len) == 0) out->pid = pid;
#endif
  out->groups.clear();
  out->has_groups = false;
  return 0;
}

#else

int GetPeerCredentials(int, PeerCredentials*) { return ENOTSUP; }

#endif

}  // namespace wdm::peer
