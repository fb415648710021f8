// Workflow IDs are business keys and locks (docs/design.md §2): two runs never share one, and
// a duplicate trigger with the same key joins the running workflow.
export const TASK_QUEUE = 'autok8s';

export const workflowIds = {
  bootstrap: (cluster: string) => `${cluster}/bootstrap`,
  provisionServer: (cluster: string, server: string) => `${cluster}/provision/${server}`,
  failover: (cluster: string, ip: string) => `${cluster}/failover/${ip}`,
  replace: (cluster: string, server: string, role: string) => `${cluster}/replace/${server}/${role}`,
  health: (cluster: string) => `${cluster}/health`,
  lbLink: (cluster: string, server: string) => `${cluster}/lb-link/${server}`,
  lock: (cluster: string) => `${cluster}/lock`,
  watcher: (cluster: string) => `${cluster}/watcher`,
  spec: (cluster: string) => `${cluster}/spec`,
};
