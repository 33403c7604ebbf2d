using System.Diagnostics;

namespace Kubestead.Cli.Tests;

/// <summary>Runs only where a Chromium is installed (tests/install-prereqs.sh installs Debian's); skips, saying why, elsewhere.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (BrowserReportTests.Chromium is null)
            Skip = "no Chromium found (chromium, chromium-browser or google-chrome on PATH, or KUBESTEAD_CHROMIUM): run tests/install-prereqs.sh to render the report in a real browser";
    }
}

/// <summary>The demo's report as a real browser renders it: a headless Chromium screenshot, decoded and checked.</summary>
public class BrowserReportTests
{
    private const int Width = 1100, Height = 2200;

    internal static string? Chromium { get; } = FindChromium();

    [BrowserFact]
    public async Task A_real_browser_renders_the_faulty_demo_report_with_its_charts()
    {
        var html = ReportCliTests.TempFile("browser.html");
        var (code, _, _, _) = await ReportCliTests.Run(null, null, "demo", "--scenario", "faulty", "--report", html);
        Assert.Equal(ExitCodes.RolledBack, code);
        var png = ReportCliTests.TempFile("browser.png");
        var profile = Directory.CreateTempSubdirectory("kubestead-chromium-");
        try
        {
            var start = new ProcessStartInfo(Chromium!)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                ArgumentList =
                {
                    "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-color-profile=srgb", "--force-device-scale-factor=1",
                    $"--user-data-dir={profile.FullName}", $"--screenshot={png}", $"--window-size={Width},{Height}", new Uri(html).AbsoluteUri,
                },
            };
            using var chromium = Process.Start(start)!;
            var stderr = chromium.StandardError.ReadToEndAsync();
            _ = chromium.StandardOutput.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await chromium.WaitForExitAsync(timeout.Token);
            Assert.True(File.Exists(png), $"Chromium wrote no screenshot (exit {chromium.ExitCode}): {await stderr}");
        }
        finally
        {
            try { profile.Delete(recursive: true); } catch (IOException) { }
        }

        var image = PngImage.Decode(File.ReadAllBytes(png));
        Assert.Equal((Width, Height), (image.Width, image.Height));
        // The chart area (the charts sit in the upper two thirds of the page) is drawn, not blank: many colours, and the
        // series colours of the light scheme among them.
        var colours = new HashSet<(byte, byte, byte)>();
        for (var y = Height / 12; y < Height * 2 / 3; y += 2)
            for (var x = 0; x < Width; x += 2)
                colours.Add(image[x, y]);
        Assert.True(colours.Count >= 30, $"only {colours.Count} distinct colours in the chart area");
        Assert.True(Count(image, (0xcf, 0x22, 0x2e)) > 50, "no canary-red series pixels");
        Assert.True(Count(image, (0x09, 0x69, 0xda)) > 50, "no control-blue series pixels");
        Assert.True(Count(image, (0x82, 0x50, 0xdf)) > 50, "no weight-purple series pixels");

        if (Environment.GetEnvironmentVariable("KUBESTEAD_UPDATE_GOLDEN") == "1")
            File.Copy(png, Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "docs", "report-demo.png"), overwrite: true);
    }

    private static int Count(PngImage image, (int R, int G, int B) colour)
    {
        var n = 0;
        for (var y = 0; y < image.Height; y++)
            for (var x = 0; x < image.Width; x++)
            {
                var (r, g, b) = image[x, y];
                if (Math.Abs(r - colour.R) + Math.Abs(g - colour.G) + Math.Abs(b - colour.B) <= 24) n++;
            }
        return n;
    }

    private static string? FindChromium()
    {
        if (Environment.GetEnvironmentVariable("KUBESTEAD_CHROMIUM") is { Length: > 0 } configured && File.Exists(configured)) return configured;
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return new[] { "chromium", "chromium-browser", "google-chrome", "google-chrome-stable" }
            .SelectMany(name => path.Select(dir => Path.Combine(dir, name)))
            .FirstOrDefault(File.Exists);
    }
}
