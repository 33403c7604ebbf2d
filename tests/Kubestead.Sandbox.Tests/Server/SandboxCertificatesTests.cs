using System.Security.Cryptography.X509Certificates;
using Kubestead.Sandbox.Server;

namespace Kubestead.Sandbox.Tests.Server;

public class SandboxCertificatesTests
{
    [Fact]
    public void Issues_a_chain_when_the_clock_moves_a_second_between_readings()
    {
        // A loaded machine can read the clock on either side of a second boundary; the leaf must still end no later
        // than its CA (failed a clean-clone CI run: "notAfter ... is later than issuerCertificate.NotAfter").
        var clock = new ClockTickingAtEveryReading(new DateTimeOffset(2026, 12, 6, 2, 7, 49, 900, TimeSpan.Zero));

        var (server, caPem) = SandboxCertificates.Create(clock);

        using (server)
        {
            using var ca = X509Certificate2.CreateFromPem(caPem);
            Assert.True(server.NotAfter <= ca.NotAfter);
            Assert.True(server.NotBefore >= ca.NotBefore);
            Assert.True(server.HasPrivateKey);
        }
    }

    private sealed class ClockTickingAtEveryReading(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow()
        {
            var reading = _now;
            _now = _now.AddSeconds(1);
            return reading;
        }
    }
}
