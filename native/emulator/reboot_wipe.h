// Reboot and RemoteWipe behaviour (registered by RegisterRebootWipeBehaviors, behaviors.h).
// Nothing is ever rebooted or wiped: requests are recorded in BehaviorState.
//
//   Reboot/RebootNow (Exec)      reboot_count + 1, last_reboot_time = now (ISO 8601 UTC), and a
//                                DeviceEvent {kind "reboot", command "RebootNow", time, data}.
//                                A wipe waiting for its reboot (status 10) becomes complete (1).
//   Reboot/Schedule/Single       Add/Replace: an ISO 8601 date-time with whole seconds
//                                ("2026-01-01T03:00:00", optional "Z" or +-hh:mm); "" clears the
//                                schedule (DDF: a null date deletes it); anything else -> 400.
//                                Fractional seconds -> 400 (see iso8601.h).
//   Reboot/Schedule/DailyRecurrent, WeeklyRecurrent  the same, or a bare time "03:00:00[zone]".
//   RemoteWipe/doWipe, doWipeProtected, doWipePersistProvisionedData, doWipePersistUserData,
//     doWipeCloud, doWipeCloudPersistUserData, doWipeCloudPersistProvisionedData,
//     AutomaticRedeployment/doAutomaticRedeployment (Exec)
//                                wipe_count + 1 and a DeviceEvent {kind "wipe", command = the
//                                node name, time, data}; the status nodes then report it:
//   RemoteWipe/AutomaticRedeployment/Status     0 never run; 10 "reset has been scheduled" after
//                                a wipe Exec; 1 "complete" after the next RebootNow
//   RemoteWipe/AutomaticRedeployment/LastError  0 (an emulated wipe never fails)
#pragma once

namespace wdm::emulator {

// The AutomaticRedeployment/Status values used here (DDF).
constexpr int kWipeNeverRun = 0;
constexpr int kWipeComplete = 1;
constexpr int kWipeScheduled = 10;

}  // namespace wdm::emulator
