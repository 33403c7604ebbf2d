using Kubestead.Kubernetes;
using Kubestead.Traffic;

namespace Kubestead.Core.Tests.Traffic;

/// <summary>
/// The router interrupt tests: crash points (every write from 1 to <c>writes</c>, failing before and after it applies),
/// a driver's whole router lifecycle that a failing write ends as the driver's death would, and abort's path by the next
/// driver.
/// </summary>
public static class WriteCrashes
{
    public static TheoryData<int, bool> Upto(int writes)
    {
        var data = new TheoryData<int, bool>();
        for (var w = 1; w <= writes; w++)
        {
            data.Add(w, false);
            data.Add(w, true);
        }
        return data;
    }

    /// <summary>Prepare, 20%, 0% and clean-up; a failing write ends the run there (the driver died; another takes over).</summary>
    public static async Task RunUntilDeathAsync(ITrafficRouter router)
    {
        try
        {
            await router.PrepareAsync();
            await router.SetCanaryWeightAsync(20);
            await router.SetCanaryWeightAsync(0);
            await router.CleanupAsync();
        }
        catch (KubernetesApiException)
        {
            // the driver died at this write
        }
    }

    /// <summary>As abort does: traffic back to stable when it is not there yet, then clean-up.</summary>
    public static async Task AbortAsync(ITrafficRouter router)
    {
        if ((await router.GetSplitAsync()).CanaryPercent > 0) await router.SetCanaryWeightAsync(0);
        await router.CleanupAsync();
    }
}
