namespace Kubestead.Kubernetes;

/// <summary>
/// Re-runs a read-then-pinned-write when the object changed in between. Deployments change all the time under a real
/// controller (status, observedGeneration), so a write pinned to the resourceVersion read fails now and then for
/// reasons that have nothing to do with the fields Kubestead changes; the retry re-reads and decides again.
/// </summary>
public static class ConflictRetry
{
    public static async Task RunAsync(Func<Task> readAndWrite, int attempts = 5)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await readAndWrite().ConfigureAwait(false);
                return;
            }
            catch (KubernetesApiException e) when ((e.IsConflict || e.IsInvalid) && attempt < attempts)
            {
            }
        }
    }
}
