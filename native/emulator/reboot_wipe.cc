// Reboot and RemoteWipe (see reboot_wipe.h).
#include "emulator/reboot_wipe.h"

#include "emulator/behaviors.h"
#include "emulator/iso8601.h"
#include "emulator/uri.h"

namespace wdm::emulator {
namespace {

DeviceEvent MakeEvent(HookContext& ctx, const char* kind, const std::optional<std::string>& data) {
  DeviceEvent event;
  event.kind = kind;
  event.command = ctx.path.empty() ? std::string() : ctx.path.back();
  event.uri = FormatPath(ctx.path);
  event.time = FormatIsoUtc(ctx.host.Now());
  event.data = data;
  return event;
}

int RebootNow(HookContext& ctx, const std::optional<std::string>& data) {
  DeviceEvent event = MakeEvent(ctx, "reboot", data);
  ++ctx.state.reboot_count;
  ctx.state.last_reboot_time = event.time;
  if (ctx.state.wipe_status == kWipeScheduled) ctx.state.wipe_status = kWipeComplete;
  ctx.state.Record(std::move(event));
  return 200;
}

int SingleSchedule(HookContext&, std::string* data) {
  return data->empty() || IsIsoDateTime(*data, false) ? 200 : 400;
}

int RecurrentSchedule(HookContext&, std::string* data) {
  return data->empty() || IsIsoDateTime(*data, true) ? 200 : 400;
}

int Wipe(HookContext& ctx, const std::optional<std::string>& data) {
  ++ctx.state.wipe_count;
  ctx.state.wipe_status = kWipeScheduled;
  ctx.state.wipe_last_error = 0;
  ctx.state.Record(MakeEvent(ctx, "wipe", data));
  return 200;
}

int WipeStatus(HookContext& ctx, std::string* value) {
  *value = std::to_string(ctx.state.wipe_status);
  return 200;
}

int WipeLastError(HookContext& ctx, std::string* value) {
  *value = std::to_string(ctx.state.wipe_last_error);
  return 200;
}

}  // namespace

void RegisterRebootWipeBehaviors(Behaviors* b) {
  const std::string reboot = "./Device/Vendor/MSFT/Reboot";
  NodeHooks hooks;
  hooks.exec = RebootNow;
  b->Register(reboot + "/RebootNow", hooks);
  hooks = NodeHooks();
  hooks.write = SingleSchedule;
  b->Register(reboot + "/Schedule/Single", hooks);
  hooks.write = RecurrentSchedule;
  b->Register(reboot + "/Schedule/DailyRecurrent", hooks);
  b->Register(reboot + "/Schedule/WeeklyRecurrent", hooks);

  const std::string wipe = "./Device/Vendor/MSFT/RemoteWipe";
  hooks = NodeHooks();
  hooks.exec = Wipe;
  for (const char* name :
       {"doWipe", "doWipeProtected", "doWipePersistProvisionedData", "doWipePersistUserData",
        "doWipeCloud", "doWipeCloudPersistUserData", "doWipeCloudPersistProvisionedData",
        "AutomaticRedeployment/doAutomaticRedeployment"}) {
    b->Register(wipe + "/" + name, hooks);
  }
  hooks = NodeHooks();
  hooks.get = WipeStatus;
  b->Register(wipe + "/AutomaticRedeployment/Status", hooks);
  hooks.get = WipeLastError;
  b->Register(wipe + "/AutomaticRedeployment/LastError", hooks);
}

}  // namespace wdm::emulator
