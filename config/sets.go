package config

// The real sets values are checked against. Each is the list AWS (or the provider)
// publishes, as of the date noted; a region, family or class AWS adds later is one line
// here, and until then the message says so.

// regions are the AWS regions (aws, aws-cn and aws-us-gov partitions, and the isolated
// ones pulumi-aws lists), from the AWS "Region billing codes" page
// (docs.aws.amazon.com/global-infrastructure/latest/regions/aws-region-billing-codes.html)
// and pulumi-aws v6.83's aws.Region enum, as of 2026-12.
var regions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1", "mx-central-1",
	"af-south-1",
	"ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
	"ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
	"eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
	"eu-west-1", "eu-west-2", "eu-west-3",
	"il-central-1", "me-central-1", "me-south-1",
	"sa-east-1",
	"cn-north-1", "cn-northwest-1",
	"us-gov-east-1", "us-gov-west-1",
	"us-iso-east-1", "us-iso-west-1", "us-isob-east-1", "eu-isoe-west-1",
}

// ec2Families maps the EC2 instance families this program runs servers on to their CPU
// architecture (Go's name: the app is built for it): general purpose, compute, memory and
// storage optimized, burstable, current and recent generations, x86 (Intel, AMD) and
// Graviton, from the EC2 instance type list (docs.aws.amazon.com/ec2/latest/instancetypes)
// and pulumi-aws v6.83's ec2.InstanceType enum, as of 2026-12. GPU, FPGA, Mac and
// high-memory families are left out: the AMI and the app are not built for them.
var ec2Families = map[string]string{
	// Burstable.
	"t2": "amd64", "t3": "amd64", "t3a": "amd64", "t4g": "arm64",
	// General purpose.
	"m5": "amd64", "m5a": "amd64", "m5ad": "amd64", "m5d": "amd64", "m5dn": "amd64", "m5n": "amd64", "m5zn": "amd64",
	"m6a": "amd64", "m6i": "amd64", "m6id": "amd64", "m6idn": "amd64", "m6in": "amd64",
	"m7a": "amd64", "m7i": "amd64", "m7i-flex": "amd64",
	"m8a": "amd64", "m8i": "amd64", "m8i-flex": "amd64", "m8id": "amd64", "m8azn": "amd64",
	"m6g": "arm64", "m6gd": "arm64", "m7g": "arm64", "m7gd": "arm64", "m8g": "arm64", "m8gd": "arm64",
	// Compute optimized.
	"c5": "amd64", "c5a": "amd64", "c5ad": "amd64", "c5d": "amd64", "c5n": "amd64",
	"c6a": "amd64", "c6i": "amd64", "c6id": "amd64", "c6in": "amd64",
	"c7a": "amd64", "c7i": "amd64", "c7i-flex": "amd64", "c8i": "amd64", "c8i-flex": "amd64", "c8id": "amd64",
	"c6g": "arm64", "c6gd": "arm64", "c6gn": "arm64", "c7g": "arm64", "c7gd": "arm64", "c7gn": "arm64",
	"c8g": "arm64", "c8gd": "arm64", "c8gn": "arm64",
	// Memory optimized.
	"r5": "amd64", "r5a": "amd64", "r5ad": "amd64", "r5b": "amd64", "r5d": "amd64", "r5dn": "amd64", "r5n": "amd64",
	"r6a": "amd64", "r6i": "amd64", "r6id": "amd64", "r6idn": "amd64", "r6in": "amd64",
	"r7a": "amd64", "r7i": "amd64", "r7iz": "amd64", "r8i": "amd64", "r8i-flex": "amd64", "r8id": "amd64",
	"x2idn": "amd64", "x2iedn": "amd64", "x2iezn": "amd64", "z1d": "amd64",
	"r6g": "arm64", "r6gd": "arm64", "r7g": "arm64", "r7gd": "arm64", "r8g": "arm64", "r8gd": "arm64",
	"x2gd": "arm64", "x8g": "arm64",
	// Storage optimized.
	"i3": "amd64", "i3en": "amd64", "i4i": "amd64", "i7i": "amd64", "i7ie": "amd64", "d3": "amd64", "d3en": "amd64",
	"i4g": "arm64", "im4gn": "arm64", "is4gen": "arm64", "i8g": "arm64", "i8ge": "arm64",
}

// rdsMySQLFamilies are the DB instance class families RDS for MySQL runs on (db.<family>.<size>),
// from "Supported DB engines for DB instance classes" in the RDS User Guide, as of 2026-12.
var rdsMySQLFamilies = []string{
	"t3", "t4g",
	"m5", "m5d", "m6g", "m6gd", "m6i", "m6id", "m6idn", "m6in", "m7g", "m7i", "m8g",
	"r5", "r5b", "r5d", "r6g", "r6gd", "r6i", "r6id", "r6idn", "r6in", "r7g", "r7i", "r8g",
	"x2g", "x2idn", "x2iedn", "x2iezn", "z1d",
}

// MySQLVersions are the engine versions db.engineVersion accepts: major.minor only, since
// RDS picks the minor release, upgrades it automatically, and the parameter group family
// (mysql8.0, mysql8.4) follows major.minor. components.NewDatabase accepts the same.
var MySQLVersions = []string{"8.0", "8.4"}

// awsProviderKeys are the aws: config keys pulumi-aws v6 reads (its sdk/go/aws/config).
var awsProviderKeys = []string{
	"accessKey", "allowedAccountIds", "assumeRole", "assumeRoleWithWebIdentity", "customCaBundle",
	"defaultTags", "ec2MetadataServiceEndpoint", "ec2MetadataServiceEndpointMode", "endpoints",
	"forbiddenAccountIds", "httpProxy", "httpsProxy", "ignoreTags", "insecure", "maxRetries",
	"noProxy", "profile", "region", "retryMode", "s3UsEast1RegionalEndpoint", "s3UsePathStyle",
	"secretKey", "sharedConfigFiles", "sharedCredentialsFiles", "skipCredentialsValidation",
	"skipMetadataApiCheck", "skipRegionValidation", "skipRequestingAccountId", "stsRegion",
	"token", "tokenBucketRateLimiterCapacity", "useDualstackEndpoint", "useFipsEndpoint",
}

// logRetentionDays are the values CloudWatch Logs accepts for a log group's retention.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// lookalikes maps letters that look like ASCII ones to the letter they imitate, so that a
// message can say what was probably meant (Cyrillic and Greek letters pasted from a chat).
var lookalikes = map[rune]rune{
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's',
	'ԁ': 'd', 'һ': 'h', 'ԛ': 'q', 'ԝ': 'w', 'ɡ': 'g', 'ο': 'o', 'α': 'a', 'ν': 'v', 'ρ': 'p', 'τ': 't',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T', 'Х': 'X',
	'‐': '-', '‑': '-', '–': '-', '—': '-', '\u00a0': ' ',
}
