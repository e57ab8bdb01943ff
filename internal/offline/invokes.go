package offline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// invokeFunc answers one invoke; in holds its arguments as plain JSON values.
type invokeFunc func(m *Mocks, in map[string]any) (map[string]any, error)

// invokeMocks answers the data sources the program reads, by token. An invoke missing here
// fails the run with an error naming its token.
var invokeMocks = map[string]invokeFunc{
	"aws:index/getAvailabilityZones:getAvailabilityZones": getAvailabilityZones,
	"aws:index/getCallerIdentity:getCallerIdentity":       getCallerIdentity,
	"aws:index/getRegion:getRegion":                       getRegion,
	"aws:index/getPartition:getPartition":                 getPartition,
	"aws:ssm/getParameter:getParameter":                   getParameter,
	"aws:ec2/getAmi:getAmi":                               getAmi,
	"aws:ec2/getManagedPrefixList:getManagedPrefixList":   getManagedPrefixList,
	"aws:route53/getZone:getZone":                         getZone,
	"aws:iam/getPolicyDocument:getPolicyDocument":         getPolicyDocument,
	"aws:elb/getServiceAccount:getServiceAccount":         getServiceAccount,
}

func str(in map[string]any, key string) string {
	s, _ := in[key].(string)
	return s
}

// invokeHash is a stable hash of an invoke's arguments, for generated ids.
func invokeHash(token string, in map[string]any) string {
	b, _ := json.Marshal(in) // map keys are sorted: stable
	return digest(token + "\x00" + string(b))
}

func getAvailabilityZones(m *Mocks, in map[string]any) (map[string]any, error) {
	var names, ids []any
	for i, suffix := range []string{"a", "b", "c", "d"} {
		names = append(names, m.Region+suffix)
		ids = append(ids, fmt.Sprintf("%s-az%d", regionCode(m.Region), i+1))
	}
	return map[string]any{
		"id": m.Region, "names": names, "zoneIds": ids, "groupNames": []any{m.Region},
		"state": "available",
	}, nil
}

func getCallerIdentity(m *Mocks, in map[string]any) (map[string]any, error) {
	return map[string]any{
		"id": m.Account, "accountId": m.Account,
		"arn": "arn:aws:iam::" + m.Account + ":user/offline-preview", "userId": "AIDAOFFLINEPREVIEW0000",
	}, nil
}

func getRegion(m *Mocks, in map[string]any) (map[string]any, error) {
	region := m.Region
	if r := str(in, "name"); r != "" {
		region = r
	}
	return map[string]any{
		"id": region, "name": region, "region": region,
		"endpoint": "ec2." + region + ".amazonaws.com", "description": region,
	}, nil
}

func getPartition(m *Mocks, in map[string]any) (map[string]any, error) {
	return map[string]any{"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}, nil
}

func getParameter(m *Mocks, in map[string]any) (map[string]any, error) {
	name := str(in, "name")
	if name == "" {
		return nil, fmt.Errorf("name is required")
	}
	h := invokeHash("getParameter", in)
	value := "offline-value-" + h[:8]
	if strings.Contains(name, "ami") {
		value = "ami-0" + h[:16]
	}
	return map[string]any{
		"id": name, "name": name, "arn": "arn:aws:ssm:" + m.Region + "::parameter" + name,
		"type": "String", "value": value, "insecureValue": value, "version": 1, "withDecryption": true,
	}, nil
}

func getAmi(m *Mocks, in map[string]any) (map[string]any, error) {
	h := invokeHash("getAmi", in)
	id := "ami-0" + h[:16]
	arch := "x86_64"
	if filters, ok := in["filters"].([]any); ok {
		for _, f := range filters {
			fm, _ := f.(map[string]any)
			if str(fm, "name") == "architecture" {
				if vals, ok := fm["values"].([]any); ok && len(vals) > 0 {
					arch, _ = vals[0].(string)
				}
			}
		}
	}
	return map[string]any{
		"id": id, "imageId": id, "arn": "arn:aws:ec2:" + m.Region + "::image/" + id,
		"architecture": arch, "name": "al2023-ami-2023.0.20240101.0-kernel-6.1-" + arch,
		"ownerId": "137112412989", "rootDeviceName": "/dev/xvda", "rootDeviceType": "ebs",
		"virtualizationType": "hvm", "state": "available",
	}, nil
}

// cloudFrontPrefixLists are the real ids of the CloudFront origin-facing managed prefix list.
var cloudFrontPrefixLists = map[string]string{
	"us-east-1": "pl-3b927c52", "us-east-2": "pl-b6a144df", "us-west-1": "pl-4ea04527",
	"us-west-2": "pl-82a045eb", "eu-west-1": "pl-4fa04526", "eu-central-1": "pl-a3a144ca",
}

const cloudFrontOriginFacing = "com.amazonaws.global.cloudfront.origin-facing"

func getManagedPrefixList(m *Mocks, in map[string]any) (map[string]any, error) {
	name, id := str(in, "name"), str(in, "id")
	if filters, ok := in["filters"].([]any); ok {
		for _, f := range filters {
			fm, _ := f.(map[string]any)
			if vals, ok := fm["values"].([]any); ok && len(vals) > 0 {
				v, _ := vals[0].(string)
				switch str(fm, "name") {
				case "prefix-list-name":
					name = v
				case "prefix-list-id":
					id = v
				}
			}
		}
	}
	if id == "" {
		if name == cloudFrontOriginFacing {
			id = cloudFrontPrefixLists[m.Region]
		}
		if id == "" {
			id = "pl-" + invokeHash("getManagedPrefixList", in)[:8]
		}
	}
	if name == "" {
		name = cloudFrontOriginFacing
	}
	return map[string]any{
		"id": id, "name": name, "addressFamily": "IPv4", "maxEntries": 55, "ownerId": "AWS",
		"arn": "arn:aws:ec2:" + m.Region + ":aws:prefix-list/" + id, "version": 1, "entries": []any{},
	}, nil
}

func getZone(m *Mocks, in map[string]any) (map[string]any, error) {
	id, name := str(in, "zoneId"), strings.TrimSuffix(str(in, "name"), ".")
	h := invokeHash("getZone", in)
	if id == "" {
		id = "Z" + strings.ToUpper(h[:20])
	}
	if name == "" {
		name = "example.com"
	}
	return map[string]any{
		"id": id, "zoneId": id, "name": name, "arn": "arn:aws:route53:::hostedzone/" + id,
		"nameServers": nameServers(h), "privateZone": false, "resourceRecordSetCount": 2,
		"callerReference": "offline-" + h[:8], "comment": "",
	}, nil
}

// elbAccounts are the AWS accounts of Elastic Load Balancing by region, which bucket policies
// for access logs name.
var elbAccounts = map[string]string{
	"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
	"us-west-2": "797873946194", "eu-west-1": "156460612806", "eu-central-1": "054676820928",
	"ap-northeast-1": "582318560864", "ap-southeast-2": "783225319266",
}

func getServiceAccount(m *Mocks, in map[string]any) (map[string]any, error) {
	region := m.Region
	if r := str(in, "region"); r != "" {
		region = r
	}
	id, ok := elbAccounts[region]
	if !ok {
		id = elbAccounts["us-east-1"]
	}
	return map[string]any{"id": id, "arn": "arn:aws:iam::" + id + ":root", "region": region}, nil
}

// policyStatement is one statement of an IAM policy document, its fields in AWS's order.
type policyStatement struct {
	Sid          string `json:"Sid,omitempty"`
	Effect       string `json:"Effect"`
	Principal    any    `json:"Principal,omitempty"`
	NotPrincipal any    `json:"NotPrincipal,omitempty"`
	Action       any    `json:"Action,omitempty"`
	NotAction    any    `json:"NotAction,omitempty"`
	Resource     any    `json:"Resource,omitempty"`
	NotResource  any    `json:"NotResource,omitempty"`
	Condition    any    `json:"Condition,omitempty"`
}

type policyDocument struct {
	Version   string             `json:"Version"`
	ID        string             `json:"Id,omitempty"`
	Statement []*policyStatement `json:"Statement"`
}

// getPolicyDocument renders the policy JSON as the provider does: one-element lists become
// a single string.
func getPolicyDocument(m *Mocks, in map[string]any) (map[string]any, error) {
	doc := policyDocument{Version: "2012-10-17", ID: str(in, "policyId"), Statement: []*policyStatement{}}
	if v := str(in, "version"); v != "" {
		doc.Version = v
	}
	stmts, _ := in["statements"].([]any)
	for _, s := range stmts {
		sm, _ := s.(map[string]any)
		st := &policyStatement{Sid: str(sm, "sid"), Effect: str(sm, "effect")}
		if st.Effect == "" {
			st.Effect = "Allow"
		}
		st.Action, st.NotAction = oneOrMany(sm["actions"]), oneOrMany(sm["notActions"])
		st.Resource, st.NotResource = oneOrMany(sm["resources"]), oneOrMany(sm["notResources"])
		st.Principal, st.NotPrincipal = principals(sm["principals"]), principals(sm["notPrincipals"])
		st.Condition = conditions(sm["conditions"])
		doc.Statement = append(doc.Statement, st)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	pretty := strings.TrimSuffix(buf.String(), "\n")
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(pretty)); err != nil {
		return nil, err
	}
	return map[string]any{"id": invokeHash("getPolicyDocument", in)[:10], "json": pretty, "minifiedJson": compact.String()}, nil
}

// oneOrMany returns nil for an empty list, the element of a one-element list, else the list.
func oneOrMany(v any) any {
	list, _ := v.([]any)
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	return list
}

func principals(v any) any {
	list, _ := v.([]any)
	if len(list) == 0 {
		return nil
	}
	out := map[string]any{}
	for _, p := range list {
		pm, _ := p.(map[string]any)
		typ := str(pm, "type")
		ids := oneOrMany(pm["identifiers"])
		if typ == "*" {
			return "*"
		}
		out[typ] = ids
	}
	return out
}

func conditions(v any) any {
	list, _ := v.([]any)
	if len(list) == 0 {
		return nil
	}
	out := map[string]map[string]any{}
	for _, c := range list {
		cm, _ := c.(map[string]any)
		test := str(cm, "test")
		if out[test] == nil {
			out[test] = map[string]any{}
		}
		out[test][str(cm, "variable")] = oneOrMany(cm["values"])
	}
	return out
}
