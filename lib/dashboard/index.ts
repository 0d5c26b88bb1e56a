/** The DM dashboard server: `startDashboard` (also behind `iotdm dashboard`). */
export {
  startDashboard,
  DEFAULT_DASHBOARD_PORT,
  type Dashboard,
  type DashboardOptions,
} from './server';
export { ApiError } from './errors';
