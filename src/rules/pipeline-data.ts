/**
 * Built-in logsource tables, derived from the logsource configuration SigmaHQ's
 * CI uses (tests/thor.yml at the SigmaHQ commit in shared/sigma/PROVENANCE.md):
 * for each Windows `category`, the service whose channel carries it and the
 * alternative event conditions (ORed); for each Windows `service`, its
 * event-log channels. process_creation's second source, Security 4688 with
 * Image→NewProcessName, is the sysmon pipeline's `route_alternatives`.
 */

export interface CategoryMapping {
  service: string;
  /** Alternatives, ORed; each is a map of field → value (or values, ORed), ANDed. */
  alternatives: Record<string, string | number | (string | number)[]>[];
  fieldMapping?: Record<string, string>;
}

export const WINDOWS_CATEGORIES: Record<string, CategoryMapping> = {
  "process_creation": {"service":"sysmon","alternatives":[{"EventID":1}]},
  "file_change": {"service":"sysmon","alternatives":[{"EventID":2}]},
  "network_connection": {"service":"sysmon","alternatives":[{"EventID":3}]},
  "sysmon_status": {"service":"sysmon","alternatives":[{"EventID":4},{"EventID":16}]},
  "process_termination": {"service":"sysmon","alternatives":[{"EventID":5}]},
  "driver_load": {"service":"sysmon","alternatives":[{"EventID":6}]},
  "image_load": {"service":"sysmon","alternatives":[{"EventID":7}]},
  "create_remote_thread": {"service":"sysmon","alternatives":[{"EventID":8}]},
  "raw_access_thread": {"service":"sysmon","alternatives":[{"EventID":9}]},
  "process_access": {"service":"sysmon","alternatives":[{"EventID":10}]},
  "file_event": {"service":"sysmon","alternatives":[{"EventID":11}]},
  "registry_event": {"service":"sysmon","alternatives":[{"EventID":12},{"EventID":13},{"EventID":14}]},
  "registry_add": {"service":"sysmon","alternatives":[{"EventID":12,"EventType":"CreateKey"}]},
  "registry_delete": {"service":"sysmon","alternatives":[{"EventID":12,"EventType":"DeleteKey"},{"EventID":12,"EventType":"DeleteValue"}]},
  "registry_set": {"service":"sysmon","alternatives":[{"EventID":13}]},
  "registry_rename": {"service":"sysmon","alternatives":[{"EventID":14}]},
  "create_stream_hash": {"service":"sysmon","alternatives":[{"EventID":15}]},
  "pipe_created": {"service":"sysmon","alternatives":[{"EventID":17},{"EventID":18}]},
  "wmi_event": {"service":"sysmon","alternatives":[{"EventID":19},{"EventID":20},{"EventID":21}]},
  "dns_query": {"service":"sysmon","alternatives":[{"EventID":22}]},
  "file_delete": {"service":"sysmon","alternatives":[{"EventID":23}]},
  "clipboard_change": {"service":"sysmon","alternatives":[{"EventID":24}]},
  "process_tampering": {"service":"sysmon","alternatives":[{"EventID":25}]},
  "file_delete_detected": {"service":"sysmon","alternatives":[{"EventID":26}]},
  "file_block_executable": {"service":"sysmon","alternatives":[{"EventID":27}]},
  "file_block_shredding": {"service":"sysmon","alternatives":[{"EventID":28}]},
  "file_executable_detected": {"service":"sysmon","alternatives":[{"EventID":29}]},
  "sysmon_error": {"service":"sysmon","alternatives":[{"EventID":255}]},
  "ps_module": {"service":"powershell","alternatives":[{"EventID":4103}]},
  "ps_script": {"service":"powershell","alternatives":[{"EventID":4104}]},
  "ps_classic_start": {"service":"powershell-classic","alternatives":[{"EventID":400}]},
  "ps_classic_provider_start": {"service":"powershell-classic","alternatives":[{"EventID":600}]},
  "ps_classic_script": {"service":"powershell-classic","alternatives":[{"EventID":800}]},
  "antivirus": {"service":"windefend","alternatives":[{"EventID":[1006,1007,1008,1009,1010,1011,1012,1017,1018,1019,1115,1116]}],"fieldMapping":{"Signature":"ThreatName","Filename":"Path"}},
};

export const WINDOWS_SERVICE_CHANNELS: Record<string, string[]> = {
  "application": ["Application"],
  "security": ["Security"],
  "system": ["System"],
  "ntlm": ["Microsoft-Windows-NTLM/Operational"],
  "sysmon": ["Microsoft-Windows-Sysmon/Operational"],
  "powershell": ["Microsoft-Windows-PowerShell/Operational","PowerShellCore/Operational"],
  "powershell-classic": ["Windows PowerShell"],
  "taskscheduler": ["Microsoft-Windows-TaskScheduler/Operational"],
  "wmi": ["Microsoft-Windows-WMI-Activity/Operational"],
  "dhcp": ["Microsoft-Windows-DHCP-Server/Operational"],
  "printservice-admin": ["Microsoft-Windows-PrintService/Admin"],
  "smbclient-security": ["Microsoft-Windows-SmbClient/Security"],
  "smbclient-connectivity": ["Microsoft-Windows-SmbClient/Connectivity"],
  "smbserver-connectivity": ["Microsoft-Windows-SMBServer/Connectivity"],
  "printservice-operational": ["Microsoft-Windows-PrintService/Operational"],
  "terminalservices-localsessionmanager": ["Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"],
  "codeintegrity-operational": ["Microsoft-Windows-CodeIntegrity/Operational"],
  "applocker": ["Microsoft-Windows-AppLocker/MSI and Script","Microsoft-Windows-AppLocker/EXE and DLL","Microsoft-Windows-AppLocker/Packaged app-Deployment","Microsoft-Windows-AppLocker/Packaged app-Execution"],
  "msexchange-management": ["MSExchange Management"],
  "windefend": ["Microsoft-Windows-Windows Defender/Operational"],
  "firewall-as": ["Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"],
  "bits-client": ["Microsoft-Windows-Bits-Client/Operational"],
  "security-mitigations": ["Microsoft-Windows-Security-Mitigations/Kernel Mode","Microsoft-Windows-Security-Mitigations/User Mode"],
  "diagnosis-scripted": ["Microsoft-Windows-Diagnosis-Scripted/Operational"],
  "shell-core": ["Microsoft-Windows-Shell-Core/Operational"],
  "openssh": ["OpenSSH/Operational"],
  "ldap": ["Microsoft-Windows-LDAP-Client/Debug"],
  "bitlocker": ["Microsoft-Windows-BitLocker/BitLocker Management"],
  "vhdmp": ["Microsoft-Windows-VHDMP/Operational"],
  "appxdeployment-server": ["Microsoft-Windows-AppXDeploymentServer/Operational"],
  "lsa-server": ["Microsoft-Windows-LSA/Operational"],
  "appxpackaging-om": ["Microsoft-Windows-AppxPackaging/Operational"],
  "dns-client": ["Microsoft-Windows-DNS Client Events/Operational"],
  "appmodel-runtime": ["Microsoft-Windows-AppModel-Runtime/Admin"],
  "capi2": ["Microsoft-Windows-CAPI2/Operational"],
  "certificateservicesclient-lifecycle-system": ["Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"],
  "kernel-shimengine": ["Microsoft-Windows-Kernel-ShimEngine/Operational","Microsoft-Windows-Kernel-ShimEngine/Diagnostic"],
  "application-experience": ["Microsoft-Windows-Application-Experience/Program-Telemetry","Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant"],
  "ntfs": ["Microsoft-Windows-Ntfs/Operational"],
  "hyper-v-worker": ["Microsoft-Windows-Hyper-V-Worker"],
  "kernel-event-tracing": ["Microsoft-Windows-Kernel-EventTracing"],
  "sense": ["Microsoft-Windows-SENSE/Operational"],
  "servicebus-client": ["Microsoft-ServiceBus-Client/Admin","Microsoft-ServiceBus-Client/Operational"],
  "iis-configuration": ["Microsoft-IIS-Configuration/Operational"],
};
