// GetPeerCredentials over a socketpair: the peer is this process, so its uid, gid, pid and
// groups are ours; a descriptor that is not a socket fails with ENOTSOCK.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "peer/peer_credentials.h"
#include "test/test_util.h"

namespace {

void PeerIsThisProcess() {
  int fds[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  wdm::peer::PeerCredentials cred;
  CHECK_EQ(wdm::peer::GetPeerCredentials(fds[0], &cred), 0);
  CHECK_EQ(cred.uid, static_cast<std::uint32_t>(getuid()));
  CHECK_EQ(cred.gid, static_cast<std::uint32_t>(getgid()));
#if defined(__linux__)
  CHECK_EQ(cred.pid, static_cast<std::int32_t>(getpid()));
  if (cred.has_groups) {
    std::vector<gid_t> mine(static_cast<std::size_t>(getgroups(0, nullptr)));
    if (!mine.empty())
      CHECK_EQ(getgroups(static_cast<int>(mine.size()), mine.data()),
               static_cast<int>(mine.size()));
    CHECK_EQ(cred.groups.size(), mine.size());
    for (gid_t g : mine) {
      CHECK(std::find(cred.groups.begin(), cred.groups.end(), g) != cred.groups.end());
    }
  }
#endif
  close(fds[0]);
  close(fds[1]);
}

void NotASocket() {
  wdm::peer::PeerCredentials cred;
  int pipe_fds[2];
  CHECK_EQ(pipe(pipe_fds), 0);
  CHECK_EQ(wdm::peer::GetPeerCredentials(pipe_fds[0], &cred), ENOTSOCK);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

}  // namespace

int main() {
  RUN(PeerIsThisProcess);
  RUN(NotASocket);
  return ::wdm::test::Finish("peer_test");
}
