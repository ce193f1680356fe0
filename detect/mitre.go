package detect

// The names of the MITRE ATT&CK (Enterprise) tactics and techniques the
// rule packs use, so that alerts carry readable names without Vigil
// shipping the whole ATT&CK bundle. Names are those of current ATT&CK;
// sub-techniques are written "Parent: Sub" as ATT&CK displays them.
//
// Rule loading accepts any well-formed id; `vigil rules lint` warns about
// ids missing here, which is the cue to add them.

var tactics = map[string]string{
	"TA0043": "Reconnaissance",
	"TA0042": "Resource Development",
	"TA0001": "Initial Access",
	"TA0002": "Execution",
	"TA0003": "Persistence",
	"TA0004": "Privilege Escalation",
	"TA0005": "Defense Evasion",
	"TA0006": "Credential Access",
	"TA0007": "Discovery",
	"TA0008": "Lateral Movement",
	"TA0009": "Collection",
	"TA0011": "Command and Control",
	"TA0010": "Exfiltration",
	"TA0040": "Impact",
}

var techniques = map[string]string{
	"T1005":     "Data from Local System",
	"T1021":     "Remote Services",
	"T1027":     "Obfuscated Files or Information",
	"T1030":     "Data Transfer Size Limits",
	"T1041":     "Exfiltration Over C2 Channel",
	"T1046":     "Network Service Discovery",
	"T1048":     "Exfiltration Over Alternative Protocol",
	"T1059":     "Command and Scripting Interpreter",
	"T1068":     "Exploitation for Privilege Escalation",
	"T1069":     "Permission Groups Discovery",
	"T1070":     "Indicator Removal",
	"T1071":     "Application Layer Protocol",
	"T1074":     "Data Staged",
	"T1074.001": "Data Staged: Local Data Staging",
	"T1074.002": "Data Staged: Remote Data Staging",
	"T1078":     "Valid Accounts",
	"T1078.001": "Valid Accounts: Default Accounts",
	"T1078.002": "Valid Accounts: Domain Accounts",
	"T1078.003": "Valid Accounts: Local Accounts",
	"T1078.004": "Valid Accounts: Cloud Accounts",
	"T1082":     "System Information Discovery",
	"T1083":     "File and Directory Discovery",
	"T1087":     "Account Discovery",
	"T1087.001": "Account Discovery: Local Account",
	"T1087.004": "Account Discovery: Cloud Account",
	"T1098":     "Account Manipulation",
	"T1098.001": "Account Manipulation: Additional Cloud Credentials",
	"T1098.003": "Account Manipulation: Additional Cloud Roles",
	"T1098.007": "Account Manipulation: Additional Local or Domain Groups",
	"T1106":     "Native API",
	"T1110":     "Brute Force",
	"T1110.001": "Brute Force: Password Guessing",
	"T1110.002": "Brute Force: Password Cracking",
	"T1110.003": "Brute Force: Password Spraying",
	"T1110.004": "Brute Force: Credential Stuffing",
	"T1119":     "Automated Collection",
	"T1136":     "Create Account",
	"T1136.001": "Create Account: Local Account",
	"T1136.002": "Create Account: Domain Account",
	"T1136.003": "Create Account: Cloud Account",
	"T1190":     "Exploit Public-Facing Application",
	"T1212":     "Exploitation for Credential Access",
	"T1213":     "Data from Information Repositories",
	"T1213.006": "Data from Information Repositories: Databases",
	"T1222":     "File and Directory Permissions Modification",
	"T1485":     "Data Destruction",
	"T1486":     "Data Encrypted for Impact",
	"T1489":     "Service Stop",
	"T1490":     "Inhibit System Recovery",
	"T1499":     "Endpoint Denial of Service",
	"T1505":     "Server Software Component",
	"T1505.001": "Server Software Component: SQL Stored Procedures",
	"T1526":     "Cloud Service Discovery",
	"T1530":     "Data from Cloud Storage",
	"T1531":     "Account Access Removal",
	"T1537":     "Transfer Data to Cloud Account",
	"T1543":     "Create or Modify System Process",
	"T1546":     "Event Triggered Execution",
	"T1548":     "Abuse Elevation Control Mechanism",
	"T1552":     "Unsecured Credentials",
	"T1552.001": "Unsecured Credentials: Credentials In Files",
	"T1555":     "Credentials from Password Stores",
	"T1556":     "Modify Authentication Process",
	"T1562":     "Impair Defenses",
	"T1562.001": "Impair Defenses: Disable or Modify Tools",
	"T1562.006": "Impair Defenses: Indicator Blocking",
	"T1562.007": "Impair Defenses: Disable or Modify Cloud Firewall",
	"T1562.008": "Impair Defenses: Disable or Modify Cloud Logs",
	"T1565":     "Data Manipulation",
	"T1565.001": "Data Manipulation: Stored Data Manipulation",
	"T1567":     "Exfiltration Over Web Service",
	"T1580":     "Cloud Infrastructure Discovery",
	"T1595":     "Active Scanning",
	"T1595.002": "Active Scanning: Vulnerability Scanning",
	"T1619":     "Cloud Storage Object Discovery",
}

// TacticName returns the ATT&CK name of a tactic id, or "" if Vigil's
// table does not have it.
func TacticName(id string) string { return tactics[id] }

// TechniqueName returns the ATT&CK name of a technique or sub-technique
// id, or "" if Vigil's table does not have it.
func TechniqueName(id string) string { return techniques[id] }
